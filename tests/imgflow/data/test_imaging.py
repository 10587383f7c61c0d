"""imgflow/data/imaging.py: one decoder for validate and resize, and why it rejects a file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from imgflow.common.errors import StageError
from imgflow.data.imaging import (
    ImageRejected,
    decode_bytes,
    decode_plain_jpeg,
    jpeg_warning,
    over_limit,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise_jpeg(size: int = 40) -> bytes:
    # Noise so the scan data is long enough that cutting it in half truncates the image.
    return encode(Image.effect_noise((size, size), 80).convert("RGB"), "JPEG", quality=95)


def seeded_noise(size: int = 64, seed: int = 0) -> Image.Image:
    """Random RGB pixels, the same on every run (Image.effect_noise is not seeded)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def cut_with_end_marker(data: bytes) -> bytes:
    """The first 60% of a JPEG, then an end-of-image marker: a cut-off file that looks whole."""
    return data[: len(data) * 6 // 10] + b"\xff\xd9"


def rejected(data: bytes, **kwargs) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode_bytes(data, **kwargs)
    assert isinstance(info.value, StageError)
    return info.value


def test_zero_byte_file_is_rejected():
    assert rejected(b"").reason == "empty_file"


def test_truncated_jpeg_is_rejected_by_the_full_decode():
    data = noise_jpeg()
    assert decode_bytes(data).image.size == (40, 40)
    error = rejected(data[: len(data) // 2])
    assert error.reason == "truncated"
    assert "truncated" in str(error)


def test_jpeg_cut_short_with_an_end_marker_is_rejected_with_libjpegs_message():
    data = cut_with_end_marker(encode(seeded_noise(), "JPEG", quality=75))
    assert pillow_pixels(data).shape == (64, 64, 3)  # Pillow alone fills the gap with grey
    error = rejected(data)
    assert error.reason == "truncated"
    assert error.detail == "Corrupt JPEG data: premature end of data segment"


def test_jpeg_cut_short_with_an_end_marker_is_rejected_on_pillows_path_too():
    exif = Image.Exif()
    exif[0x0112] = 1  # EXIF keeps the file off the fast path
    data = cut_with_end_marker(encode(seeded_noise(), "JPEG", quality=75, exif=exif.tobytes()))
    assert rejected(data).detail.startswith("Corrupt JPEG data")


def test_cmyk_jpeg_cut_short_with_an_end_marker_is_rejected():
    data = cut_with_end_marker(encode(seeded_noise().convert("CMYK"), "JPEG"))
    assert rejected(data).detail.startswith("Corrupt JPEG data")


def test_extraneous_bytes_in_a_jpeg_are_corrupt_data():
    data = encode(seeded_noise(), "JPEG")
    # Longer than the few bytes the entropy decoder may read ahead and take as its own.
    error = rejected(data[:-2] + b"junk" * 8 + b"\xff\xd9")
    assert error.reason == "corrupt"
    assert "extraneous bytes before marker 0xd9" in error.detail


def test_truncated_jpeg_without_an_end_marker_keeps_pillows_verdict():
    data = encode(seeded_noise(), "JPEG", quality=75)
    error = rejected(data[: len(data) * 6 // 10])
    assert error.reason == "truncated"
    assert error.detail.startswith("OSError: image file is truncated")


@pytest.mark.parametrize(
    "data",
    [
        encode(seeded_noise(24), "JPEG", progressive=True),
        encode(seeded_noise(24).convert("CMYK"), "JPEG"),
        encode(seeded_noise(24).convert("L"), "JPEG"),
        encode(Image.new("RGB", (6, 4)), "JPEG", exif=Image.Exif().tobytes()),
    ],
    ids=["progressive", "cmyk", "grey", "exif"],
)
def test_sound_jpegs_have_no_decoder_warning(data):
    assert jpeg_warning(data) is None
    assert decode_bytes(data).image.size == Image.open(io.BytesIO(data)).size


def test_jpeg_libjpeg_cannot_read_at_all_is_left_to_pillow():
    data = encode(seeded_noise(), "JPEG")[:300]  # not even a whole header
    assert jpeg_warning(data) is None
    error = rejected(data)
    assert error.reason == "corrupt" and error.detail.startswith("unreadable header")


def test_text_file_is_not_an_image():
    assert rejected(b"just some notes").reason == "not_an_image"


def test_png_content_named_jpg_is_judged_by_content(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(Image.new("RGB", (3, 2), (1, 2, 3)), "PNG"))
    decoded = decode_bytes(path.read_bytes())
    assert decoded.format == "PNG"
    assert decoded.image.getpixel((0, 0)) == (1, 2, 3)


def test_cmyk_jpeg_becomes_rgb():
    decoded = decode_bytes(encode(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG"))
    assert decoded.source_mode == "CMYK"
    assert decoded.image.mode == "RGB"
    red, green, blue = decoded.image.getpixel((1, 1))
    assert red > 240 and green < 15 and blue < 15


def test_grayscale_stays_l():
    decoded = decode_bytes(encode(Image.new("L", (4, 3), 77), "PNG"))
    assert decoded.image.mode == "L"
    assert decoded.image.getpixel((0, 0)) == 77


def test_palette_png_transparency_becomes_white_not_black():
    image = Image.new("P", (2, 1), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black (transparent), 1 red
    image.putpixel((1, 0), 1)
    decoded = decode_bytes(encode(image, "PNG", transparency=0))
    assert decoded.source_mode == "P"
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 0)) == (255, 0, 0)


def test_rgba_is_composited_on_the_background():
    image = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    image.putpixel((1, 0), (200, 0, 0, 255))
    image.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black over white: mid grey
    decoded = decode_bytes(encode(image, "PNG"))
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 0)) == (200, 0, 0)
    assert all(120 <= v <= 135 for v in decoded.image.getpixel((2, 0)))
    black = decode_bytes(encode(image, "PNG"), background=0).image
    assert black.getpixel((0, 0)) == (0, 0, 0)


def test_la_is_composited_to_l():
    image = Image.new("LA", (2, 1), (0, 0))
    image.putpixel((1, 0), (50, 255))
    decoded = decode_bytes(encode(image, "PNG"))
    assert decoded.image.mode == "L"
    assert [decoded.image.getpixel((x, 0)) for x in range(2)] == [255, 50]


def test_sixteen_bit_png_is_scaled_by_the_full_range_not_clipped():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    decoded = decode_bytes(data)
    assert decoded.source_mode.startswith("I;16")
    assert decoded.image.mode == "L"
    assert np.asarray(decoded.image).tolist() == [[0, 1, 128, 255]]


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    data = encode(Image.new("RGB", (6, 4), (250, 0, 0)), "JPEG", exif=exif.tobytes())
    decoded = decode_bytes(data)
    assert decoded.image.size == (4, 6)
    assert decoded.image.mode == "RGB"


def test_image_over_the_pixel_limit_is_rejected_from_the_header():
    data = encode(Image.new("L", (50, 40), 3), "PNG")
    assert decode_bytes(data, max_pixels=2000).image.size == (50, 40)
    error = rejected(data, max_pixels=1999)
    assert error.reason == "too_large"
    assert "50x40" in str(error) and "max_image_pixels" in str(error)
    # Header intact, pixel data cut: still "too_large", so the pixels were never decoded.
    assert rejected(data[:60], max_pixels=1999).reason == "too_large"


def test_image_over_pillows_own_limit_names_validates_limit_and_the_size(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # stand-in for Pillow's 89 Mpx default
    data = encode(Image.new("L", (30, 30)), "PNG")  # 900 px: over Pillow's 2x error threshold
    error = rejected(data, max_pixels=50)
    assert error.reason == "too_large"
    assert error.detail == "30x30 = 900 pixels, over validate.max_image_pixels=50"


def test_over_limit_message_without_a_size_still_names_the_parameter():
    assert over_limit(None, 1000).endswith("over validate.max_image_pixels=1,000")


def test_a_small_limit_does_not_lower_pillows_global_one():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageRejected):
        decode_bytes(encode(Image.new("L", (50, 40)), "PNG"), max_pixels=10)
    assert before == Image.MAX_IMAGE_PIXELS


def test_a_limit_above_pillows_is_honoured(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # stand-in for Pillow's 89 Mpx default
    data = encode(Image.new("L", (30, 30)), "PNG")  # 900 px: over Pillow's 2x error threshold
    assert decode_bytes(data, max_pixels=1000).image.size == (30, 30)


def test_refuses_to_run_with_load_truncated_images(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_bytes(noise_jpeg())


def test_decode_bytes_returns_a_loaded_image():
    image = decode_bytes(encode(Image.new("RGB", (2, 2), (9, 8, 7)), "PNG")).image
    assert image.mode == "RGB" and image.getpixel((1, 1)) == (9, 8, 7)


def pillow_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode != "L" else image)


@pytest.mark.parametrize(
    "options",
    [
        {"subsampling": "4:2:0"},
        {"subsampling": "4:2:2"},
        {"subsampling": "4:4:4"},
        {"progressive": True},
    ],
)
def test_plain_jpeg_fast_path_gives_pillows_pixels(options):
    data = encode(Image.effect_noise((37, 29), 60).convert("RGB"), "JPEG", **options)
    decoded = decode_plain_jpeg(data)
    assert decoded is not None
    assert (decoded.format, decoded.source_mode, decoded.image.mode) == ("JPEG", "RGB", "RGB")
    assert np.array_equal(np.asarray(decoded.image), pillow_pixels(data))


def test_plain_jpeg_fast_path_keeps_grey_as_l():
    data = encode(Image.effect_noise((16, 12), 60), "JPEG")
    decoded = decode_plain_jpeg(data)
    assert decoded is not None and decoded.image.mode == "L" and decoded.source_mode == "L"
    assert np.array_equal(np.asarray(decoded.image), pillow_pixels(data))


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG"),  # Pillow undoes Adobe CMYK
        encode(Image.new("RGB", (6, 4)), "JPEG", exif=Image.Exif().tobytes()),  # may rotate
        encode(Image.new("RGB", (4, 4)), "PNG"),
        noise_jpeg()[:700],  # libjpeg warns "premature end": Pillow judges it
    ],
    ids=["cmyk", "exif", "png", "truncated"],
)
def test_files_needing_pillow_skip_the_fast_path(data):
    assert decode_plain_jpeg(data) is None


def test_fast_path_leaves_over_limit_jpegs_to_the_header_check():
    data = encode(Image.new("RGB", (50, 40)), "JPEG")
    assert decode_plain_jpeg(data, max_pixels=1999) is None
    assert rejected(data, max_pixels=1999).reason == "too_large"


def test_corrupt_scan_data_pillow_accepts_is_rejected_with_libjpegs_warning():
    data = bytearray(noise_jpeg())
    middle = len(data) // 2
    data[middle : middle + 4] = b"\xff\xd0\xff\xd0"  # stray restart markers: a libjpeg warning
    assert decode_plain_jpeg(bytes(data)) is None
    assert pillow_pixels(bytes(data)).shape == (40, 40, 3)
    assert rejected(bytes(data)).detail.startswith("Corrupt JPEG data")
