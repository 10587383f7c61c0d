"""imgflow/evaluation/html_report.py: reports/report.html, one page that needs nothing else."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from imgflow.evaluation.html_report import (
    GalleryItem,
    ReportInputs,
    data_fingerprint,
    format_value,
    git_revision,
    metric_rows,
    png_bytes,
    read_inputs,
    render_report,
)
from tests.plot_helpers import PARAMS_YAML, write_report_inputs

HOSTILE = '<script>alert("x")</script> & co'
# A page that loads something from elsewhere: a script, style sheet, image or font by URL.
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|//cdn""",
    re.IGNORECASE,
)
PIXEL = png_bytes(np.zeros((2, 2, 3), np.uint8))


def page(inputs: ReportInputs, **figures: bytes) -> str:
    return render_report(inputs, figures, pd.DataFrame(), [], [])


def reports(tmp_path: Path) -> ReportInputs:
    write_report_inputs(tmp_path / "reports", tmp_path / "raw")
    return read_inputs(tmp_path / "reports", tmp_path / "raw", PARAMS_YAML, tmp_path)


def test_metrics_known_first_in_reading_order_then_the_rest_in_file_order() -> None:
    metrics = {"loss": 1.0, "zeta": 1, "per_class": {}, "degenerate": False, "accuracy": 0.5}
    metrics |= {"alpha": 2, "majority_baseline": 0.4}
    keys = [key for key, _, _ in metric_rows(metrics)]
    assert keys == ["accuracy", "majority_baseline", "degenerate", "loss", "zeta", "alpha"]


def test_degenerate_model_is_flagged_at_the_top_with_its_reason() -> None:
    inputs = ReportInputs(
        metrics={"accuracy": 0.1, "degenerate": True, "degenerate_reason": HOSTILE}
    )
    text = page(inputs)
    banner = text[text.index('class="banner"') : text.index("<nav>")]
    assert "Degenerate model" in banner and "&lt;script&gt;alert" in banner


def test_per_class_file_wins_over_metrics_per_class(tmp_path: Path) -> None:
    write_report_inputs(tmp_path / "reports", tmp_path / "raw")
    (tmp_path / "reports" / "per_class.json").write_text(
        json.dumps({"ant": {"precision": 1.0, "recall": 0.25, "f1": 0.4, "support": 4, "x": 7}})
    )
    inputs = read_inputs(tmp_path / "reports", tmp_path / "raw", PARAMS_YAML, tmp_path)
    assert inputs.per_class == {
        "ant": {"precision": 1.0, "recall": 0.25, "f1": 0.4, "support": 4, "x": 7}
    }
    assert "<th>x</th>" in page(inputs)  # a figure the page does not know still shows


def test_per_class_falls_back_to_metrics_json(tmp_path: Path) -> None:
    inputs = reports(tmp_path)
    assert list(inputs.per_class or {}) == ["ant", "bee", "cat"]
    assert inputs.per_class_source == "metrics.json (per_class)"


def test_strings_from_data_are_escaped_everywhere(tmp_path: Path) -> None:
    inputs = reports(tmp_path)
    inputs.per_class = {HOSTILE: {"recall": 1.0}}
    inputs.confused_pairs = [{"class_a": HOSTILE, "class_b": "b"}]
    inputs.data_fingerprint = {"dataset": HOSTILE}
    item = GalleryItem(PIXEL, f"{HOSTILE}.png", HOSTILE, '"quoted"', 0.5)
    text = render_report(inputs, {}, pd.DataFrame({"train": [1]}, index=[HOSTILE]), [item], [])
    assert "<script" not in text
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co") >= 6


def test_page_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    inputs = reports(tmp_path)
    item = GalleryItem(PIXEL, "a.png", "ant", "bee", 0.9)
    text = render_report(inputs, {"samples": PIXEL}, pd.DataFrame(), [item], [item])
    assert EXTERNAL.findall(text) == []
    assert "<script" not in text and "<link" not in text
    sources = re.findall(r'<img src="([^"]*)"', text)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)


def test_missing_inputs_are_named_not_fatal(tmp_path: Path) -> None:
    inputs = read_inputs(tmp_path / "reports", tmp_path / "raw", tmp_path / "params.yaml", tmp_path)
    text = page(inputs)
    assert f"No test metrics: {tmp_path / 'reports' / 'metrics.json'} was not found." in text
    assert f"No params: {tmp_path / 'params.yaml'} was not found." in text
    assert "<td>unknown</td>" in text.split('id="provenance"')[1]  # no images.parquet to hash


def test_gate_decision_shows_its_rules(tmp_path: Path) -> None:
    inputs = reports(tmp_path)
    inputs.gate = {
        "promote": False,
        "summary": "keep the champion: min_gain failed",
        "experiment": "retrain-1",
        "champion": {"branch": "champion", "commit": "abc123"},
        "rules": [
            {"name": "min_gain", "passed": False, "value": -0.01, "threshold": 0.0, "detail": "d"}
        ],
    }
    section = page(inputs).split('id="gate"')[1]
    assert '<p class="fail">keep the champion: min_gain failed</p>' in section
    assert "<td>min_gain</td><td>failed</td>" in section
    assert "champion at abc123" in section


def test_without_a_gate_file_the_page_says_there_was_no_decision(tmp_path: Path) -> None:
    inputs = reports(tmp_path)
    assert inputs.gate is None
    assert "writes reports/gate.json" in page(inputs).split('id="gate"')[1]


def test_git_revision_is_head_in_a_repository(tmp_path: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_revision(tmp_path) == head


def test_git_revision_outside_a_repository_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git looks no higher than tmp_path, wherever the temp folder is.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_revision(tmp_path) == "unknown"


def test_data_fingerprint_names_the_dataset_and_hashes_the_stored_images(tmp_path: Path) -> None:
    write_report_inputs(tmp_path / "reports", tmp_path / "raw")
    digest = hashlib.sha256((tmp_path / "raw" / "images.parquet").read_bytes()).hexdigest()
    assert data_fingerprint(tmp_path / "raw") == {
        "dataset": "tiny",
        "source": "/data/tiny",
        "images.parquet sha256": digest,
    }


def test_params_are_shown_as_loaded(tmp_path: Path) -> None:
    section = page(reports(tmp_path)).split('id="provenance"')[1]
    assert "samples_per_class: 8" in section and "min_accuracy: 0.5" in section


def test_gray_test_images_become_gray_pngs() -> None:
    image = Image.open(io.BytesIO(png_bytes(np.full((4, 3, 1), 200, np.uint8))))
    assert (image.mode, image.size, image.getpixel((0, 0))) == ("L", (3, 4), 200)


def test_nested_figures_drop_trailing_zeros_and_top_level_keep_four_decimals() -> None:
    assert format_value({"median": 8.0, "mean": 77.85371}) == "median 8, mean 77.8537"
    assert format_value(1.0) == "1.0000"
