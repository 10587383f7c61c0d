"""The `resize` section: the model's input size and colour mode (`auto`: chosen from the data
by the resize stage, imgflow/data/input_choice.py), and how images are fitted to it."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from imgflow.params.types import AUTO, AutoSize, Int, Section


class ResizeParams(Section):
    image_size: AutoSize = AUTO
    color_mode: Literal["RGB", "L", "auto"] = AUTO
    resample: Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"] = "bilinear"
    policy: Literal["stretch", "pad", "center_crop"] = "stretch"
    pad_color: tuple[Int, Int, Int] = (0, 0, 0)

    @field_validator("pad_color")
    @classmethod
    def _byte_values(cls, color: tuple[int, int, int]) -> tuple[int, int, int]:
        if not all(0 <= value <= 255 for value in color):
            raise ValueError("each channel must be between 0 and 255")
        return color

    @property
    def is_resolved(self) -> bool:
        """Whether size and colour mode are values, not `auto` still to be chosen from data."""
        return self.image_size != AUTO and self.color_mode != AUTO

    @property
    def size(self) -> tuple[int, int]:
        """(height, width); only once resolved."""
        if self.image_size == AUTO:
            raise ValueError("resize.image_size is auto: the resize stage chooses it from data")
        return self.image_size  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        if self.color_mode == AUTO:
            raise ValueError("resize.color_mode is auto: the resize stage chooses it from data")
        return 3 if self.color_mode == "RGB" else 1

    def resolved(
        self, image_size: tuple[int, int] | None = None, color_mode: str | None = None
    ) -> ResizeParams:
        """A copy with `auto` values replaced by the given choices (explicit values stay)."""
        update: dict[str, object] = {}
        if self.image_size == AUTO and image_size is not None:
            update["image_size"] = tuple(image_size)
        if self.color_mode == AUTO and color_mode is not None:
            update["color_mode"] = color_mode
        return ResizeParams.model_validate({**self.model_dump(), **update})
