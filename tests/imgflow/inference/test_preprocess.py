"""imgflow/inference/preprocess.py: a file's bytes prepared exactly as resize prepared the
training images, from the parameters the model file recorded."""

import io

import numpy as np
import pytest
from PIL import Image

from imgflow.data.imaging import ImageRejected
from imgflow.data.resizing import load_and_resize
from imgflow.inference.preprocess import prepare
from tests.imgflow.inference.helpers import cut_with_end_marker, noise_jpeg, toy_metadata


def encoded(mode: str, fmt: str, size: tuple[int, int] = (30, 17)) -> bytes:
    rng = np.random.default_rng(len(mode))
    channels = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode=mode)
    if fmt == "GIF":
        image = image.convert("P")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    pixels = np.linspace(0, 65535, 12 * 9).reshape(9, 12).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


FILES = {
    "rgb-jpeg": encoded("RGB", "JPEG"),
    "grey-jpeg": encoded("L", "JPEG"),
    "rgba-png": encoded("RGBA", "PNG"),
    "la-png": encoded("LA", "PNG"),
    "palette-gif": encoded("RGB", "GIF"),
    "16-bit-png": sixteen_bit_png(),
    "exact-size-png": encoded("L", "PNG", size=(8, 8)),
}


@pytest.mark.parametrize("policy", ["stretch", "pad", "center_crop"])
@pytest.mark.parametrize("color_mode", ["RGB", "L"])
@pytest.mark.parametrize("kind", list(FILES))
def test_prepare_gives_the_pixels_resize_gave_the_training_images(
    kind: str, color_mode: str, policy: str
) -> None:
    metadata = toy_metadata(
        color_mode=color_mode, policy=policy, resample="bicubic", pad_color=(200, 10, 30)
    )
    expected = load_and_resize(("f", FILES[kind]), metadata.resize, metadata.max_image_pixels)
    np.testing.assert_array_equal(prepare(FILES[kind], metadata), expected)


def test_prepare_gives_the_models_input_shape() -> None:
    metadata = toy_metadata(image_size=(12, 10), color_mode="L")
    prepared = prepare(FILES["rgb-jpeg"], metadata)
    assert prepared.shape == (12, 10, 1) and prepared.dtype == np.uint8


def test_a_text_file_is_rejected_as_not_an_image() -> None:
    with pytest.raises(ImageRejected) as info:
        prepare(b"just some notes\n", toy_metadata())
    assert info.value.reason == "not_an_image"


def test_a_jpeg_cut_short_with_an_end_marker_is_rejected_as_truncated() -> None:
    with pytest.raises(ImageRejected) as info:
        prepare(cut_with_end_marker(noise_jpeg()), toy_metadata())
    assert info.value.reason == "truncated"


def test_an_image_over_the_models_pixel_limit_is_rejected() -> None:
    metadata = toy_metadata()
    small_limit = type(metadata)(metadata.classes, metadata.resize, max_image_pixels=100)
    with pytest.raises(ImageRejected) as info:
        prepare(FILES["rgb-jpeg"], small_limit)
    assert info.value.reason == "too_large" and "max_image_pixels=100" in str(info.value)
