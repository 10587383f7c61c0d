"""imgflow/data/resizing.py: colour conversion, resizing and the array index."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from imgflow.common import parallel
from imgflow.common.artifacts import atomic_npy
from imgflow.common.errors import StageError
from imgflow.data.resizing import grayscale_mask, load_and_resize, resize_all, to_array, valid_rows
from imgflow.params.resize import ResizeParams


def gradient(mode: str, size: tuple[int, int] = (20, 12)) -> Image.Image:
    """A (width, height) image whose pixels vary, so channels and resizing are visible."""
    width, height = size
    values = (np.arange(width * height, dtype=np.uint32).reshape(height, width) * 7) % 256
    gray = values.astype(np.uint8)
    if mode == "L":
        return Image.fromarray(gray, mode="L")
    rgb = np.stack([gray, 255 - gray, np.full_like(gray, 40)], axis=-1)
    return Image.fromarray(rgb, mode="RGB")


def test_grayscale_to_rgb_gives_three_equal_channels():
    params = ResizeParams(image_size=(12, 20), color_mode="RGB")
    array = to_array(gradient("L", (20, 12)), params)
    assert array.shape == (12, 20, 3)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array[..., 0], array[..., 1])
    np.testing.assert_array_equal(array[..., 1], array[..., 2])
    assert array.std() > 0


def test_rgb_to_grayscale_gives_one_channel():
    params = ResizeParams(image_size=(12, 20), color_mode="L")
    array = to_array(gradient("RGB", (20, 12)), params)
    assert array.shape == (12, 20, 1)
    assert array.dtype == np.uint8


def test_same_size_image_is_not_resampled():
    image = gradient("L", (20, 12))
    array = to_array(image, ResizeParams(image_size=(12, 20), color_mode="L"))
    np.testing.assert_array_equal(array[..., 0], np.asarray(image))


@pytest.mark.parametrize("color_mode, channels", [("RGB", 3), ("L", 1)])
def test_output_size_is_height_by_width(color_mode, channels):
    params = ResizeParams(image_size=(16, 40), color_mode=color_mode)
    array = to_array(gradient("RGB", (9, 30)), params)
    assert array.shape == (16, 40, channels)


def test_rgba_input_is_converted_to_rgb():
    image = Image.new("RGBA", (10, 10), (200, 100, 50, 128))
    array = to_array(image, ResizeParams(image_size=(8, 8), color_mode="RGB"))
    assert array.shape == (8, 8, 3)
    assert tuple(array[0, 0]) == (200, 100, 50)


@pytest.mark.parametrize(
    "resample", ["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]
)
def test_every_resample_filter_works(resample):
    params = ResizeParams(image_size=(8, 10), resample=resample, color_mode="RGB")
    assert to_array(gradient("RGB"), params).shape == (8, 10, 3)


def test_valid_rows_drops_bad_rows_and_numbers_from_zero():
    manifest = pd.DataFrame(
        {
            "path": ["a/1.png", "a/2.png", "b/3.png", "b/4.png"],
            "label": ["a", "a", "b", "b"],
            "split": [None, None, None, None],
            "width": [8, 0, 8, 8],
            "sha256": ["h1", "h2", "h3", "h4"],
            "status": ["ok", "unreadable", "ok", "ok"],
        },
        index=[10, 11, 12, 13],
    )
    index = valid_rows(manifest)
    assert list(index.columns) == ["row", "path", "label", "split", "sha256"]
    assert index["row"].tolist() == [0, 1, 2]
    assert index["path"].tolist() == ["a/1.png", "b/3.png", "b/4.png"]
    assert index["label"].tolist() == ["a", "b", "b"]


def test_resize_all_empty_gives_empty_stack():
    params = ResizeParams(image_size=(16, 24), color_mode="L")
    images = resize_all([], [], params)
    assert images.shape == (0, 16, 24, 1)
    assert images.dtype == np.uint8


def gray_png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (5, 7), value).save(buffer, format="PNG")
    return buffer.getvalue()


def test_resize_all_orders_by_paths_not_by_storage():
    stored = [("c.png", gray_png(90)), ("a.png", gray_png(10)), ("b.png", gray_png(200))]
    images = resize_all(
        stored, ["a.png", "b.png", "c.png"], ResizeParams(image_size=(8, 8), color_mode="RGB")
    )
    assert images.shape == (3, 8, 8, 3)
    assert images[:, 0, 0, 0].tolist() == [10, 200, 90]


def test_resize_all_skips_files_not_asked_for():
    stored = [("a.png", gray_png(10)), ("bad.png", b"quarantined, never decoded")]
    images = resize_all(stored, ["a.png"], ResizeParams(image_size=(8, 8), color_mode="L"))
    assert images[:, 0, 0, 0].tolist() == [10]


def test_resize_all_in_worker_processes_matches_in_process(monkeypatch):
    stored = [(f"{i}.png", gray_png(i * 20)) for i in range(7)]
    params = ResizeParams(image_size=(8, 8), color_mode="L")
    expected = resize_all(stored, [p for p, _ in stored], params)
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    assert (resize_all(stored, [p for p, _ in stored], params) == expected).all()
    assert expected[:, 0, 0, 0].tolist() == [i * 20 for i in range(7)]


@pytest.mark.parametrize("workers", [False, True])
def test_resize_all_into_a_file_backed_array_writes_the_file(tmp_path, monkeypatch, workers):
    stored = [(f"{i}.png", gray_png(i * 20)) for i in range(7)]
    paths = [p for p, _ in reversed(stored)]
    params = ResizeParams(image_size=(8, 8), color_mode="L")
    expected = resize_all(stored, paths, params)
    if workers:  # each worker writes its rows into the file itself
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
        monkeypatch.setattr(parallel, "CHUNK", 3)
        monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    with atomic_npy(tmp_path / "images.npy", expected.shape, "uint8") as out:
        assert resize_all(stored, paths, params, out=out) is out
    assert (np.load(tmp_path / "images.npy") == expected).all()


def test_resize_all_refuses_an_out_array_of_the_wrong_shape():
    params = ResizeParams(image_size=(8, 8), color_mode="L")
    with pytest.raises(ValueError, match=r"out: needs shape \(1, 8, 8, 1\)"):
        resize_all([("a.png", gray_png(10))], ["a.png"], params, out=np.zeros((1, 4, 4, 1)))


def test_resize_all_names_a_file_missing_from_the_store():
    with pytest.raises(StageError, match="1 of the manifest's images .* 'b.png'"):
        resize_all(
            [("a.png", gray_png(10))],
            ["a.png", "b.png"],
            ResizeParams(image_size=(32, 32), color_mode="RGB"),
        )


def test_load_and_resize_corrupt_file_names_the_path():
    with pytest.raises(StageError, match="cannot decode") as info:
        load_and_resize(
            ("cat/broken.png", b"not a png"), ResizeParams(image_size=(32, 32), color_mode="RGB")
        )
    assert "cat/broken.png" in str(info.value)


def test_load_and_resize_truncated_file_names_the_path(tmp_path):
    image = Image.effect_noise((64, 64), 80).convert("RGB")
    whole = tmp_path / "whole.jpg"
    image.save(whole, format="JPEG", quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(StageError) as info:
        load_and_resize(
            ("cat/cut.jpg", cut.read_bytes()), ResizeParams(image_size=(32, 32), color_mode="RGB")
        )
    assert "cat/cut.jpg" in str(info.value)


def wide_image() -> Image.Image:
    """20 x 10 (width x height): a white left half and a black right half."""
    pixels = np.zeros((10, 20, 3), dtype=np.uint8)
    pixels[:, :10] = 255
    return Image.fromarray(pixels)


def test_stretch_squeezes_the_whole_image_in() -> None:
    array = to_array(
        wide_image(), ResizeParams(image_size=(10, 10), policy="stretch", color_mode="RGB")
    )
    assert array.shape == (10, 10, 3)
    assert array[5, 0].tolist() == [255, 255, 255] and array[5, 9].tolist() == [0, 0, 0]


def test_pad_keeps_the_aspect_ratio_with_pad_color_borders() -> None:
    params = ResizeParams(
        image_size=(10, 10), policy="pad", pad_color=(10, 20, 30), color_mode="RGB"
    )
    array = to_array(wide_image(), params)
    assert array[0, 5].tolist() == [10, 20, 30]  # top border: the image is 5 rows high
    assert array[5, 1].tolist() == [255, 255, 255]


def test_center_crop_cuts_the_longer_side() -> None:
    array = to_array(
        wide_image(), ResizeParams(image_size=(10, 10), policy="center_crop", color_mode="RGB")
    )
    # the middle 10 columns: 5 white then 5 black, no border
    assert array[5, 0].tolist() == [255, 255, 255] and array[5, 9].tolist() == [0, 0, 0]
    assert array[0, 0].tolist() == [255, 255, 255]


def test_grayscale_mask_finds_equal_channel_images() -> None:
    gray = np.full((1, 4, 4, 3), 77, dtype=np.uint8)
    color = gray.copy()
    color[0, 0, 0, 2] = 78
    assert grayscale_mask(np.concatenate([gray, color])).tolist() == [True, False]


def test_grayscale_mask_checks_every_channel_in_every_block() -> None:
    images = np.full((3, 2, 2, 3), 9, dtype=np.uint8)
    images[1, 1, 1, 1] = 0  # green differs from red and blue
    assert grayscale_mask(images, block=2).tolist() == [True, False, True]
    assert grayscale_mask(images[:0]).tolist() == []


def test_resize_decodes_like_validate_transparent_pixels_become_white(tmp_path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    array = load_and_resize(
        ("clear.png", path.read_bytes()), ResizeParams(image_size=(8, 8), color_mode="RGB")
    )
    assert (array == 255).all()
