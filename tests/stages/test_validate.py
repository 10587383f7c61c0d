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
from imgflow.validation.run import ValidationFailed
from imgflow.validation.scan import MANIFEST_COLUMNS
from stages.validate import main
from tests.imgflow.validation.helpers import CONFLICT

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
    assert read_json(paths["stats"])["images"] == 6
    assert len(pd.read_parquet(paths["manifest"])) == 6
    assert paths["png"].read_bytes().startswith(b"\x89PNG")


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
