"""What a saved model needs besides its weights to classify an image file: its class names and
the preprocessing its training images had (decode limit, colour mode, size, resize policy,
filter, pad colour).

`train` writes it into the .keras archive as one more member, `imgflow.json`, beside Keras' own
`config.json` and weights; Keras ignores members it does not know, so the file still loads with
plain `keras.saving.load_model`. `imgflow predict` and `imgflow export` need only the model file.
(A model saved again by plain Keras loses the member: save with `imgflow.models.saving`.)
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imgflow.common.errors import StageError
from imgflow.params.resize import ResizeParams

METADATA_MEMBER = "imgflow.json"
FORMAT_VERSION = 1
# The keys of `preprocessing` that are resize params (params.yaml's resize section).
RESIZE_KEYS = ("image_size", "color_mode", "resample", "policy", "pad_color")


class MetadataError(StageError):
    """A model file without usable metadata; the message names the file and the key."""


@dataclass(frozen=True)
class ModelMetadata:
    classes: tuple[str, ...]  # in label-index order: output unit i is classes[i]
    resize: ResizeParams  # colour mode, size, policy, filter, pad colour of the training images
    max_image_pixels: int  # validate's decode limit: larger images are refused, as in training

    @property
    def input_shape(self) -> tuple[int, int, int]:
        height, width = self.resize.size
        return height, width, self.resize.channels

    def to_dict(self) -> dict[str, Any]:
        resize = self.resize.model_dump(mode="json")
        return {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "input": {"shape": list(self.input_shape), "dtype": "float32", "range": [0, 255]},
            "preprocessing": {
                **{key: resize[key] for key in RESIZE_KEYS},
                "max_image_pixels": self.max_image_pixels,
            },
        }

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> ModelMetadata:
        """Validate metadata read from `source`; a bad key raises MetadataError naming it."""
        if not isinstance(raw, dict):
            raise MetadataError(f"{source}: metadata is not a mapping")
        if raw.get("format") != FORMAT_VERSION:
            raise MetadataError(
                f"{source}: metadata format {raw.get('format')!r}, expected {FORMAT_VERSION}"
            )
        classes = raw.get("classes")
        if (
            not isinstance(classes, list)
            or not classes
            or not all(isinstance(c, str) for c in classes)
        ):
            raise MetadataError(f"{source}: classes: expected a list of names, got {classes!r}")
        pre = raw.get("preprocessing")
        if not isinstance(pre, dict):
            raise MetadataError(f"{source}: preprocessing: expected a mapping, got {pre!r}")
        pixels = pre.get("max_image_pixels")
        if not isinstance(pixels, int) or isinstance(pixels, bool) or pixels <= 0:
            raise MetadataError(
                f"{source}: preprocessing.max_image_pixels: expected a positive integer, "
                f"got {pixels!r}"
            )
        try:
            resize = ResizeParams.model_validate({key: pre.get(key) for key in RESIZE_KEYS})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"])
            raise MetadataError(
                f"{source}: preprocessing.{key}: {error['msg']} (got {error.get('input')!r})"
            ) from None
        if not resize.is_resolved:
            raise MetadataError(
                f"{source}: preprocessing: image_size and color_mode must be values, got "
                f"{resize.image_size!r} and {resize.color_mode!r}"
            )
        return cls(tuple(classes), resize, pixels)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2).encode() + b"\n"


def mismatch(model: Any, metadata: ModelMetadata) -> str | None:
    """How `metadata` fails to describe `model` (input shape, one class per output), or None."""
    input_shape = tuple(model.input_shape[1:])
    if input_shape != metadata.input_shape:
        return f"the model takes {input_shape} images but its metadata says {metadata.input_shape}"
    if model.output_shape[-1] != len(metadata.classes):
        return (
            f"the model has {model.output_shape[-1]} outputs but its metadata names "
            f"{len(metadata.classes)} classes"
        )
    return None


def read_metadata(path: Path | str) -> ModelMetadata:
    """The metadata saved in the .keras file at `path`."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(METADATA_MEMBER)
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise MetadataError(f"{path}: is a folder, not a .keras model file") from None
    except zipfile.BadZipFile:
        raise MetadataError(f"{path}: not a .keras model file (not a zip archive)") from None
    except KeyError:
        raise MetadataError(
            f"{path}: has no {METADATA_MEMBER} (class names, preprocessing): it was not saved "
            "by this version's train; rerun `dvc repro train`"
        ) from None
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise MetadataError(f"{path}: {METADATA_MEMBER} is not valid JSON ({exc})") from None
    return ModelMetadata.from_dict(raw, f"{path}: {METADATA_MEMBER}")
