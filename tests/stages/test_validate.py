"""stages/validate.py: main() writes the manifest, the report and its page, and stops on a
blocking failure. (The fixtures `bad_raw` and `clean_raw` come from tests/stages/conftest.py.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from imgflow.common.artifacts import read_json
from imgflow.common.errors import StageError
from imgflow.params.validate import ValidateParams
from imgflow.validation.checks import QUARANTINE_COLUMNS
from imgflow.validation.run import ValidationFailed
from imgflow.validation.scan import MANIFEST_COLUMNS
from stages.validate import main
from tests.imgflow.validation.helpers import CLEAN, CONFLICT, distinct_png, make_raw, noise_jpeg

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


# --- params ----------------------------------------------------------------------------------


def test_validate_params_defaults_and_params_yaml():
    defaults = ValidateParams()
    assert (defaults.on_corrupt, defaults.on_label_conflict, defaults.on_leak) == (
        "quarantine",
        "fail",
        "fail",
    )
    assert defaults.max_image_pixels == Image.MAX_IMAGE_PIXELS == 89_478_485
    assert main.__module__ == "stages.validate"  # params.yaml itself is checked by main below


# --- main --------------------------------------------------------------------------------------


def outputs(tmp_path: Path) -> dict[str, Path]:
    reports = tmp_path / "reports"
    return {
        "manifest": tmp_path / "interim" / "manifest.parquet",
        "quarantine": tmp_path / "interim" / "quarantine.parquet",
        "report": reports / "validation.json",
        "stats": reports / "data_stats.json",
        "html": reports / "validation" / "index.html",
        "png": reports / "validation" / "image_sizes.png",
        "csv": reports / "validation" / "image_sizes.csv",
    }


def run_main(raw: Path, paths: dict[str, Path]) -> None:
    main([str(raw), str(paths["manifest"]), str(paths["report"]), "--params", str(PARAMS_YAML)])


def test_main_writes_every_output(clean_raw, tmp_path):
    paths = outputs(tmp_path)
    run_main(clean_raw, paths)
    assert all(p.exists() for p in paths.values()), paths
    assert read_json(paths["report"])["success"] is True
    assert read_json(paths["stats"])["images"] == len(CLEAN)
    assert len(pd.read_parquet(paths["manifest"])) == len(CLEAN)
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    quarantine = pd.read_parquet(paths["quarantine"])
    assert list(quarantine.columns) == QUARANTINE_COLUMNS and quarantine.empty


def test_main_stops_naming_the_file_and_still_writes_outputs(bad_raw, tmp_path):
    paths = outputs(tmp_path)
    with pytest.raises(ValidationFailed) as info:  # params.yaml: conflicts and leaks fail
        run_main(bad_raw, paths)
    assert isinstance(info.value, StageError)
    assert CONFLICT[1] in str(info.value) and str(paths["report"]) in str(info.value)
    manifest = pd.read_parquet(paths["manifest"])
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert read_json(paths["report"])["success"] is False
    assert paths["html"].exists()


def test_main_writes_the_quarantine_table_where_it_is_told(clean_raw, tmp_path):
    paths = outputs(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "q.parquet"
    args = [str(clean_raw), str(paths["manifest"]), str(paths["report"])]
    main([*args, "--quarantine", str(elsewhere), "--params", str(PARAMS_YAML)])
    assert elsewhere.exists() and not paths["quarantine"].exists()
    assert read_json(paths["report"])["quarantine_file"] == str(elsewhere)


def test_jpeg_cut_short_with_an_end_marker_is_quarantined_in_the_manifest(tmp_path):
    cut = noise_jpeg()
    files = {p: distinct_png(i) for i, p in enumerate(CLEAN)}
    raw = make_raw(tmp_path, files | {"cat/cut.jpg": cut[: len(cut) * 6 // 10] + b"\xff\xd9"})
    paths = outputs(tmp_path)
    run_main(raw, paths)
    row = pd.read_parquet(paths["manifest"]).set_index("path").loc["cat/cut.jpg"]
    assert (row["status"], row["reason"]) == ("quarantined", "truncated")
    assert "Corrupt JPEG data" in row["error"]


def test_a_long_quarantine_list_is_shortened_in_the_report_and_whole_in_the_table(tmp_path):
    files = {p: distinct_png(i) for i, p in enumerate(CLEAN)}
    bad = {f"cat/bad{i:03}.jpg": b"not an image" for i in range(500)}
    paths = outputs(tmp_path)
    run_main(make_raw(tmp_path, files | bad), paths)
    report = read_json(paths["report"])
    assert (len(report["quarantine"]), report["quarantine_more"]) == (100, 400)
    assert report["quarantine_file"] == str(paths["quarantine"])
    readable = next(o for o in report["checks"] if o["check"] == "readable")
    assert (len(readable["failures"]), readable["failures_more"]) == (100, 400)
    quarantine = pd.read_parquet(paths["quarantine"])
    assert sorted(quarantine["path"]) == sorted(bad)
    assert set(quarantine["reason"]) == {"not_an_image"}
    assert f"... and 400 more: every quarantined file is listed in {paths['quarantine']}" in (
        paths["html"].read_text()
    )
