"""Helpers shared by the tests of imgflow/validation and of the validate stage
(tests/stages/test_validate.py): a data/raw holding every bad input, a clean one, and the params
they are checked with. The fixtures `bad_raw` and `clean_raw` reach the tests through
tests/imgflow/validation/conftest.py and tests/stages/conftest.py."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from imgflow.params.data import DataParams
from imgflow.params.validate import ValidateParams
from imgflow.sources.ingest import fetch

LIMIT = 2000  # validate.max_image_pixels in these tests: the "bomb" is 50 x 50


GOOD = [
    "train/cat/1.png",
    "train/cat/2.png",
    "train/cat/3.png",
    "train/dog/4.png",
    "train/dog/5.png",
    "train/dog/6.png",
    "test/cat/7.png",
    "test/cat/8.png",
    "test/dog/9.png",
    "test/dog/10.png",
]


JUNK = [
    "desktop.ini",
    ".ipynb_checkpoints/x.png",
    "train/cat/.DS_Store",
    "train/cat/._foo.jpg",
    "train/cat/.ipynb_checkpoints/x.png",
    "train/dog/Thumbs.db",
]


CORRUPT = {  # file -> the reason it is quarantined with
    "train/cat/empty.jpg": "empty_file",
    "train/cat/cut.jpg": "truncated",
    "train/dog/cut_marked.jpg": "truncated",  # cut short, then an end-of-image marker
    "train/dog/notes.jpg": "not_an_image",
    "train/cat/bomb.png": "too_large",
}


ODD_BUT_FINE = {  # file -> mode stored in it; each decodes, so each stays "ok"
    "train/dog/png_named.jpg": "RGB",
    "train/cat/cmyk.jpg": "CMYK",
    "train/dog/gray.png": "L",
    "train/cat/palette.png": "P",
    "train/dog/rgba.png": "RGBA",
    "train/cat/deep.png": "I;16",
    "train/dog/rotated.jpg": "RGB",
}


CONFLICT = ("train/cat/1.png", "train/dog/dup.png")  # same bytes under two classes


LEAK = ("train/dog/5.png", "test/dog/leak.png")  # same bytes in train and test


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def distinct_png(value: int) -> bytes:
    pixels = np.random.default_rng(value).integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "PNG")


def noise_jpeg(seed: int = 0) -> bytes:
    """Random pixels (under LIMIT), the same on every run: Image.effect_noise is not seeded."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=75)


def odd_files() -> dict[str, bytes]:
    cut = encode(Image.effect_noise((40, 40), 80).convert("RGB"), "JPEG", quality=95)
    marked = noise_jpeg()
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((1, 1), 1)
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "train/cat/empty.jpg": b"",
        "train/cat/cut.jpg": cut[: len(cut) // 2],
        "train/dog/cut_marked.jpg": marked[: len(marked) * 6 // 10] + b"\xff\xd9",
        "train/dog/notes.jpg": b"not an image",
        "train/cat/bomb.png": encode(Image.new("L", (50, 50), 1), "PNG"),
        "train/dog/png_named.jpg": encode(Image.new("RGB", (5, 4), (1, 2, 3)), "PNG"),
        "train/cat/cmyk.jpg": encode(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG"),
        "train/dog/gray.png": encode(Image.new("L", (4, 4), 90), "PNG"),
        "train/cat/palette.png": encode(palette, "PNG", transparency=0),
        "train/dog/rgba.png": encode(Image.new("RGBA", (4, 4), (9, 9, 9, 0)), "PNG"),
        "train/cat/deep.png": encode(Image.fromarray(np.full((3, 3), 4000, np.uint16)), "PNG"),
        "train/dog/rotated.jpg": encode(Image.new("RGB", (6, 2), 200), "JPEG", exif=exif.tobytes()),
    }


def make_raw(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """data/raw as download writes it from a folder holding `files`."""
    source = tmp_path / "source"
    for relpath, data in files.items():
        path = source / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    raw = tmp_path / "raw"
    fetch(DataParams(source=str(source)), raw)
    return raw


@pytest.fixture
def bad_raw(tmp_path) -> Path:
    """Every bad input at once, beside clean images and junk."""
    files = {p: distinct_png(i) for i, p in enumerate(GOOD)} | odd_files()
    files[CONFLICT[1]] = files[CONFLICT[0]]
    files[LEAK[1]] = files[LEAK[0]]
    return make_raw(tmp_path, files | {p: b"junk" for p in JUNK})


# 4 images a class, no splits: one more than split needs to carve out val and test, so a test
# can take one away and still pass.
CLEAN = [f"{label}/{label}{i}.png" for label in ("cat", "dog", "emu") for i in range(4)]


@pytest.fixture
def clean_raw(tmp_path) -> Path:
    return make_raw(tmp_path, {p: distinct_png(i) for i, p in enumerate(CLEAN)})


def params(**overrides) -> ValidateParams:
    return ValidateParams(**({"max_image_pixels": LIMIT} | overrides))


def by_path(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest.set_index("path")
