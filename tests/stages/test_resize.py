"""stages/resize.py: main() writes the image array and its index for validate's usable rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from stages.download import main as download
from stages.resize import main
from stages.validate import main as validate

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


def params_for(tmp_path: Path, source: Path, **resize: object) -> Path:
    params = yaml.safe_load(PARAMS_YAML.read_text())
    params["data"]["source"] = str(source)
    params["resize"].update(resize)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def run_resize(tmp_path: Path, source: Path, **resize: object) -> tuple[np.ndarray, pd.DataFrame]:
    params = ["--params", str(params_for(tmp_path, source, **resize))]
    raw, interim = tmp_path / "raw", tmp_path / "interim"
    download([str(raw), *params])
    manifest = interim / "manifest.parquet"
    validate([str(raw), str(manifest), str(tmp_path / "validation.json"), *params])
    images, index = interim / "images.npy", interim / "index.parquet"
    main([str(raw), str(manifest), str(images), str(index), *params])
    return np.load(images), pd.read_parquet(index)


def test_main_writes_one_row_per_usable_image_at_the_params_size(tmp_path, image_folder):
    (image_folder / "dog" / "broken.png").write_bytes(b"not an image")  # quarantined by validate
    images, index = run_resize(tmp_path, image_folder, image_size=[16, 12], color_mode="L")
    assert images.shape == (18, 16, 12, 1)
    assert images.dtype == np.uint8
    assert len(index) == 18
    assert "dog/broken.png" not in set(index["path"])
    assert index["is_grayscale"].all()  # one channel: gray by definition


def test_main_removes_the_temp_file_a_killed_run_left(tmp_path, image_folder):
    interim = tmp_path / "interim"
    interim.mkdir()
    stale = interim / ".images.npy.4f2k.tmp.npy"
    stale.write_bytes(b"x" * 1024)  # a killed resize's half-written array
    run_resize(tmp_path, image_folder)
    assert not stale.exists()
    assert sorted(p.name for p in interim.iterdir() if p.name.startswith(".")) == []
