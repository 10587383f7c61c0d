"""Typed, validated parameters: `params.yaml` is read once into these objects.

An unknown key, a wrong type or an out-of-range value raises `ParamsError` naming the key's full
dotted path and the offending value, before any stage does work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from stages.errors import StageError
from stages.evaluate_params import EvaluateParams, PlotParams
from stages.param_types import Int, Section
from stages.train_params import TrainParams

DEFAULT_PARAMS_PATH = Path("params.yaml")


class ParamsError(StageError):
    """A parameter file is missing, unparsable, or holds an invalid key or value."""


CIFAR_SOURCES = ("cifar10", "cifar100")


class DataParams(Section):
    source: str = Field(min_length=1)
    max_per_class: Int | None = Field(default=None, gt=0)
    seed: Int = 0
    # Where to fetch a CIFAR archive from instead of the publisher (a mirror, a file:// URL).
    url: str | None = Field(default=None, pattern=r"^(https?|file)://\S+$")
    md5: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    label_mode: Literal["fine", "coarse"] = "fine"
    labels_file: str | None = Field(default=None, min_length=1)
    labels_order: Literal["sorted", "id"] = "sorted"
    on_label_mismatch: Literal["fail", "labelled_only"] = "fail"
    cache_dir: str = Field(default="data/downloads", min_length=1)

    @model_validator(mode="after")
    def _keys_match_source(self) -> DataParams:
        # A key the chosen source would ignore is a mistake worth stopping for, not a no-op.
        is_cifar = self.source in CIFAR_SOURCES
        if self.url is not None and not is_cifar:
            raise ValueError(
                f"data.url only overrides the cifar10/cifar100 download; for source "
                f"{self.source!r} put the URL in data.source"
            )
        if self.label_mode != "fine" and self.source != "cifar100":
            raise ValueError(
                f"data.label_mode applies only to source cifar100, not {self.source!r}"
            )
        if self.labels_file is not None and (is_cifar or self.source == "digits"):
            raise ValueError(f"data.labels_file cannot be used with source {self.source!r}")
        if self.labels_file is None:
            for key, default in (("labels_order", "sorted"), ("on_label_mismatch", "fail")):
                if getattr(self, key) != default:
                    raise ValueError(f"data.{key} needs data.labels_file to be set")
        if self.source == "digits" and (self.md5 or self.sha256):
            raise ValueError("data.md5/data.sha256 have nothing to check for source 'digits'")
        return self


class ValidateParams(Section):
    min_per_class: Int = Field(default=1, ge=1)
    # What a file that cannot be decoded does: set aside and carry on, or stop the pipeline.
    on_corrupt: Literal["quarantine", "fail"] = "quarantine"
    # The same content under two classes / in two splits: stop, or quarantine and carry on.
    on_label_conflict: Literal["fail", "drop"] = "fail"
    on_leak: Literal["fail", "drop"] = "fail"
    # Pillow's default decompression-bomb limit; larger images are rejected from the header.
    max_image_pixels: Int = Field(default=89_478_485, gt=0)


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


class SplitParams(Section):
    val_fraction: float = Field(default=0.15, gt=0, lt=1)
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: Int = 42
    # old class name -> new name (merge several into one) or null (drop the class)
    class_map: dict[str, str | None] = Field(default_factory=dict)
    balance: Literal["none", "undersample", "oversample"] = "none"
    max_per_class: Int | None = Field(default=None, gt=0)
    drop_grayscale: bool = False

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> SplitParams:
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError(
                "val_fraction + test_fraction must be below 0.9 to leave training data, got "
                f"{self.val_fraction} + {self.test_fraction}"
            )
        return self


class Params(Section):
    data: DataParams
    validate_: ValidateParams = Field(alias="validate")
    resize: ResizeParams
    split: SplitParams
    train: TrainParams
    evaluate: EvaluateParams
    plot: PlotParams


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "<root>"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing required key"
    if isinstance(error.get("input"), dict):  # a cross-field check: the message names the keys
        return f"{key}: {message}"
    return f"{key}: {message} (got {error.get('input')!r})"


def parse_params(raw: Any, source: str = "params") -> Params:
    """Validate a parsed YAML mapping into `Params`, naming each bad key and value."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(err) for err in exc.errors())
        raise ParamsError(f"{source}: invalid parameters:\n  {problems}") from None


def load_params(path: Path | str = DEFAULT_PARAMS_PATH) -> Params:
    """Read and validate a params file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))
