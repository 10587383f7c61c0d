"""stages/resize.py: main() writes the image array and its index for validate's usable rows,
and input.json with the size and colour mode it chose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from stages.download import main as download
from stages.resize import main
from stages.validate import main as validate
from tests.conftest import write_png

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


def params_for(tmp_path: Path, source: Path, **resize: object) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
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
    main([str(raw), str(manifest), str(images), str(index), str(interim / "input.json"), *params])
    return np.load(images), pd.read_parquet(index)


def input_record(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "interim" / "input.json").read_text())


def gray_rgb_folder(root: Path, size: tuple[int, int] = (70, 90)) -> Path:
    """2 classes x 3 RGB PNGs whose three channels are equal: gray, stored as colour."""
    rng = np.random.default_rng(5)
    for label in ("a", "b"):
        for i in range(3):
            gray = rng.integers(0, 256, size=(size[1], size[0], 1), dtype=np.uint8)
            path = root / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.repeat(gray, 3, axis=2), mode="RGB").save(path)
    return root


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


def test_auto_upsamples_small_colour_images_to_32_rgb_and_says_why(tmp_path, image_folder):
    images, _ = run_resize(tmp_path, image_folder)  # 12x10 random colour PNGs
    assert images.shape == (18, 32, 32, 3)
    record = input_record(tmp_path)
    assert record["resize"]["image_size"] == [32, 32] and record["resize"]["color_mode"] == "RGB"
    assert "median shorter side 10 px" in record["chosen"]["image_size"]
    assert record["chosen"]["color_mode"] == "18 of 18 images have colour"


def test_auto_size_follows_larger_images(tmp_path):
    folder = tmp_path / "photos"
    for i in range(6):
        write_png(folder / ("a" if i % 2 else "b") / f"{i}.png", value=i, size=(150, 120))
    images, _ = run_resize(tmp_path, folder)
    assert images.shape[1:3] == (64, 64)  # 120 px, but 6 images: capped at 64
    assert "6 images: 64x64" in input_record(tmp_path)["chosen"]["image_size"]


def test_auto_colour_is_one_channel_when_every_image_is_gray_even_stored_as_rgb(tmp_path):
    folder = gray_rgb_folder(tmp_path / "gray")
    auto, index = run_resize(tmp_path / "auto", folder)
    explicit, _ = run_resize(tmp_path / "explicit", folder, color_mode="L")
    assert auto.shape == (6, 64, 64, 1)
    np.testing.assert_array_equal(auto, explicit)  # what decoding them as L gives
    assert index["is_grayscale"].all()
    record = input_record(tmp_path / "auto")
    assert record["resize"]["color_mode"] == "L"
    assert record["chosen"]["color_mode"] == "all 6 images are grayscale"


def test_explicit_size_and_colour_mode_win_and_nothing_is_chosen(tmp_path, image_folder):
    images, _ = run_resize(tmp_path, image_folder, image_size=[16, 12], color_mode="RGB")
    assert images.shape == (18, 16, 12, 3)
    record = input_record(tmp_path)
    assert record["chosen"] == {}
    assert record["resize"]["image_size"] == [16, 12]


def test_input_record_carries_the_decode_limit_and_what_the_source_says_of_mirroring(
    tmp_path, image_folder
):
    run_resize(tmp_path, image_folder)
    record = input_record(tmp_path)
    params = yaml.safe_load(PARAMS_YAML.read_text())
    assert record["max_image_pixels"] == params["validate"]["max_image_pixels"]
    assert record["mirror_safe"] is None  # a user's folder: not known
