"""Saving a model as a .keras archive whose bytes depend only on the model.

Keras stamps each save with the time (`date_saved` in metadata.json, the weights entry's zip
date) and numbers the configs that layers share (a dtype policy) by Python object id. So the
same weights saved by two runs differ byte for byte, and DVC records a new model hash after
every retrain even when training repeated exactly (keras-team/keras#15948). `save_model` writes
what `keras.Model.save` does, minus those three: a run that repeats gives the same file.

What it saves is the inference model of Keras' own classes (`imgflow.models.portable`), so the
file loads with plain Keras in a process that never imported imgflow, and, when given, the
model's metadata (`imgflow.models.metadata`: class names, preprocessing) as one more member.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras

from imgflow.models.metadata import METADATA_MEMBER, ModelMetadata, mismatch
from imgflow.models.portable import portable_model

# The earliest date a zip entry can hold; Keras already uses it for the entries it writes
# from strings.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
METADATA_FILENAME = "metadata.json"
CONFIG_FILENAME = "config.json"
SHARED_ID_KEY = "shared_object_id"


def _renumber_shared_objects(config: Any, numbers: dict[Any, int]) -> Any:
    """`config` with each shared-object id replaced by its order of first appearance: the
    loader only matches ids with each other, so any consistent numbering loads the same."""
    if isinstance(config, dict):
        renumbered = {key: _renumber_shared_objects(val, numbers) for key, val in config.items()}
        if SHARED_ID_KEY in config:
            renumbered[SHARED_ID_KEY] = numbers.setdefault(config[SHARED_ID_KEY], len(numbers) + 1)
        return renumbered
    if isinstance(config, list):
        return [_renumber_shared_objects(item, numbers) for item in config]
    return config


def reproducible_member(name: str, data: bytes) -> bytes:
    """One archive member's bytes without the save time or object ids."""
    if name == METADATA_FILENAME:
        metadata = json.loads(data)
        metadata.pop("date_saved", None)
        return json.dumps(metadata).encode()
    if name == CONFIG_FILENAME:
        return json.dumps(_renumber_shared_objects(json.loads(data), {})).encode()
    return data


def save_model(model: keras.Model, path: Path | str, metadata: ModelMetadata | None = None) -> None:
    """Save `model` to `path` (a .keras file) as its inference model of Keras' own classes, with
    bytes that depend only on its config, weights and `metadata`. Plain
    `keras.saving.load_model` loads it, as does `imgflow.models.presets.load_model`."""
    path = Path(path)
    if metadata is not None:
        check_metadata(model, metadata)
    portable_model(model).save(path)
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            stamped = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            stamped.compress_type, stamped.external_attr = info.compress_type, info.external_attr
            archive.writestr(stamped, reproducible_member(info.filename, data))
        if metadata is not None:
            stamped = zipfile.ZipInfo(METADATA_MEMBER, date_time=ZIP_EPOCH)
            stamped.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(stamped, metadata.to_json())


def check_metadata(model: keras.Model, metadata: ModelMetadata) -> None:
    """The metadata must describe the model: one class per output, its input shape."""
    problem = mismatch(model, metadata)
    if problem:
        raise ValueError(f"metadata: {problem}")
