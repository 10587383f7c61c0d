"""The `resize` section: the model's input size and colour mode."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from imgflow.params.types import Int, Section


class ResizeParams(Section):
    image_size: tuple[Int, Int] = (32, 32)
    color_mode: Literal["RGB", "L"] = "RGB"
    resample: Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"] = "bilinear"
    policy: Literal["stretch", "pad", "center_crop"] = "stretch"
    pad_color: tuple[Int, Int, Int] = (0, 0, 0)

    @field_validator("pad_color")
    @classmethod
    def _byte_values(cls, color: tuple[int, int, int]) -> tuple[int, int, int]:
        if not all(0 <= value <= 255 for value in color):
            raise ValueError("each channel must be between 0 and 255")
        return color

    @field_validator("image_size")
    @classmethod
    def _sane_size(cls, size: tuple[int, int]) -> tuple[int, int]:
        if min(size) < 8 or max(size) > 1024:
            raise ValueError("each side must be between 8 and 1024 pixels")
        return size

    @property
    def channels(self) -> int:
        return 3 if self.color_mode == "RGB" else 1
