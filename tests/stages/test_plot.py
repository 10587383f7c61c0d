"""stages/plot.py: main() writes each figure's PNG with its CSV, and with --report the page."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
import pytest

from imgflow.common.errors import StageError
from stages.plot import main
from tests.plot_helpers import PARAMS_YAML, plot_arguments, write_inputs

FIGURES = {
    "training_curves",
    "confusion_matrix",
    "confusion_matrix_normalised",
    "samples",
    "class_distribution",
    "misclassified",
    "confidently_wrong",
    "reliability",
    "class_errors",
}


@pytest.fixture(scope="module")
def plotted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reports/plots from one main() run on the tiny inputs."""
    root = tmp_path_factory.mktemp("plot")
    main([*write_inputs(root), "--params", str(PARAMS_YAML)])
    return root / "plots"


def test_main_writes_every_figure_beside_its_data(plotted: Path) -> None:
    assert {p.stem for p in plotted.glob("*.png")} == FIGURES
    assert {p.stem for p in plotted.glob("*.csv")} == FIGURES
    assert all((plotted / f"{name}.png").stat().st_size > 1000 for name in FIGURES)


def test_galleries_show_true_label_prediction_and_probability(plotted: Path) -> None:
    confident = pd.read_csv(plotted / "confidently_wrong.csv")
    assert confident["path"].tolist() == ["c", "b"]  # 0.8 before 0.55
    assert {"true_label", "predicted_label", "probability"} <= set(confident.columns)
    assert len(pd.read_csv(plotted / "misclassified.csv")) == 2


def test_normalised_confusion_rows_are_shares(plotted: Path) -> None:
    shares = pd.read_csv(plotted / "confusion_matrix_normalised.csv", index_col=0)
    assert shares.loc["cat"].tolist() == pytest.approx([0.5, 0.0, 0.5])


def test_reliability_data_counts_every_test_image(plotted: Path) -> None:
    reliability = pd.read_csv(plotted / "reliability.csv")
    assert len(reliability) == 15 and reliability["images"].sum() == 4


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A main() run with --report: the folder holding the page and what it read."""
    root = tmp_path_factory.mktemp("report")
    main(plot_arguments(root))
    return root


def test_main_without_report_writes_no_page(plotted: Path) -> None:
    assert not (plotted.parent / "report.html").exists()


def test_page_embeds_each_figure_as_written_to_its_png(reported: Path) -> None:
    page = (reported / "report.html").read_text()
    embedded = {
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    }
    for name in ("training_curves", "confusion_matrix", "samples", "class_distribution"):
        assert (reported / "plots" / f"{name}.png").read_bytes() in embedded


def test_page_galleries_hold_each_wrong_prediction_with_its_labels(reported: Path) -> None:
    page = (reported / "report.html").read_text()
    gallery = page[page.index('id="errors"') : page.index('id="gate"')]
    # b (bee as ant, 0.55) and c (cat as ant, 0.80), in the spread and the confident gallery
    assert gallery.count("<img") == 4
    assert "true <strong>cat</strong>, predicted <strong>ant</strong> (0.80)" in gallery


def test_page_shows_what_evaluate_and_validate_reported(reported: Path) -> None:
    page = (reported / "report.html").read_text()
    assert '<td><code>accuracy</code></td><td class="n">0.5000</td>' in page  # metrics.json
    assert "<tr><td>ant</td><td>cat</td>" in page  # confused_pairs.csv
    assert 'validation <span class="pass">passed</span>' in page  # validation.json


def test_a_second_run_elsewhere_writes_the_same_page(reported: Path, tmp_path: Path) -> None:
    main(plot_arguments(tmp_path))
    assert (tmp_path / "report.html").read_bytes() == (reported / "report.html").read_bytes()


def test_test_images_not_matching_the_predictions_are_refused(tmp_path: Path) -> None:
    arguments = write_inputs(tmp_path, test_images=3)
    with pytest.raises(StageError, match="holds 3 images but the predictions 4"):
        main([*arguments, "--params", str(PARAMS_YAML)])
