"""Helpers shared by the tests of imgflow/inference and of `imgflow predict` and `export`
(tests/pipelines): a toy model that tells dark 8x8 grey images from bright ones, saved with its
metadata, and image files to feed it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from imgflow.models.metadata import ModelMetadata
from imgflow.models.saving import save_model
from imgflow.params.resize import ResizeParams
from imgflow.training.loop import fit
from tests.imgflow.training.helpers import small, toy_split

CLASSES = ("dark", "bright")


def toy_metadata(**resize: object) -> ModelMetadata:
    params = ResizeParams(**{"image_size": (8, 8), "color_mode": "L", **resize})
    return ModelMetadata(CLASSES, params, max_image_pixels=1_000_000)


def save_toy_model(path: Path) -> Path:
    """Train the toy model (mlp, 8x8 grey) five epochs and save it as train does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    training = fit(toy_split(64, 0), toy_split(32, 1), 2, small(epochs=5))
    save_model(training.model, path, toy_metadata())
    return path


def png_bytes(value: int, size: tuple[int, int] = (20, 14), mode: str = "L") -> bytes:
    """A flat image of grey level `value` (RGB: all channels), `size` = (width, height)."""
    color = value if mode == "L" else (value,) * 3
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_jpeg(seed: int = 0, size: int = 48) -> bytes:
    """Random RGB pixels as a JPEG: long scan data, so cutting it truncates the image."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def cut_with_end_marker(data: bytes) -> bytes:
    """The first 60% of a JPEG, then an end-of-image marker: a cut-off file that looks whole
    (Pillow alone would fill the rest with grey; libjpeg-turbo warns)."""
    return data[: len(data) * 6 // 10] + b"\xff\xd9"
