"""A trained model as a TensorFlow SavedModel and a TFLite file, with its metadata beside them.

The served function calls the model with `training=False`. Keras' random augmentation layers
(RandomFlip, RandomTranslation, ...) default to training mode when nothing says otherwise, and
a plain `model.export` leaves it unsaid, so an exported model would flip and shift the images it
is asked to classify. Dropout would drop. An explicit endpoint fixes the mode for every layer.

TFLite has no bfloat16 kernels: a model trained in mixed precision is converted from a float32
copy of itself (the same weights, float32 arithmetic), so its TFLite predictions match that
copy's, and differ from the bfloat16 model's by bfloat16's rounding. The SavedModel computes as
the Keras model does.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgflow.common.artifacts import atomic_dir, atomic_file
from imgflow.models.metadata import ModelMetadata
from imgflow.models.portable import computes_in_float32, float32_model

SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "model.tflite"
METADATA_FILE = "imgflow.json"
ENDPOINT = "serve"  # the SavedModel's signature and the TFLite file's signature runner
INPUT_NAME = "image"
OUTPUT_NAME = "output_0"  # the name TensorFlow gives a signature's single output


@dataclass(frozen=True)
class Exported:
    saved_model: Path
    tflite: Path
    metadata: Path
    tflite_precision: str  # "float32", or "float32 (model computes in bfloat16)"


def serving_archive(model: Any, input_shape: tuple[int, int, int]) -> Any:
    """A keras.export.ExportArchive with one endpoint, `serve`: float32 N x H x W x C pixels in
    0..255 -> N x classes probabilities, every layer in inference mode."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        ENDPOINT,
        lambda images: model(images, training=False),
        input_signature=[tf.TensorSpec((None, *input_shape), tf.float32, name=INPUT_NAME)],
    )
    return archive


def tflite_bytes(saved_model: Path) -> bytes:
    """The SavedModel's `serve` signature as a float32 TFLite flatbuffer (built-in ops only)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), [ENDPOINT])
    return converter.convert()


def export_model(model: Any, metadata: ModelMetadata, out_dir: Path | str) -> Exported:
    """Write `saved_model/`, `model.tflite` and `imgflow.json` into `out_dir`, each atomically;
    other files there are left alone."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved_model = out_dir / SAVED_MODEL_DIR
    with atomic_dir(saved_model) as tmp:
        serving_archive(model, metadata.input_shape).write_out(str(tmp), verbose=False)
    if computes_in_float32(model):
        precision = "float32"
        flatbuffer = tflite_bytes(saved_model)
    else:
        precision = "float32 (model computes in bfloat16)"
        with tempfile.TemporaryDirectory(prefix="imgflow-export-") as scratch:
            copy = Path(scratch) / SAVED_MODEL_DIR
            serving_archive(float32_model(model), metadata.input_shape).write_out(
                str(copy), verbose=False
            )
            flatbuffer = tflite_bytes(copy)
    tflite = out_dir / TFLITE_FILE
    with atomic_file(tflite) as tmp:
        tmp.write_bytes(flatbuffer)
    description = {
        **metadata.to_dict(),
        "saved_model": {
            "path": SAVED_MODEL_DIR,
            "signature": ENDPOINT,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
        },
        "tflite": {
            "path": TFLITE_FILE,
            "signature": ENDPOINT,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "precision": precision,
        },
    }
    metadata_path = out_dir / METADATA_FILE
    with atomic_file(metadata_path) as tmp:
        tmp.write_text(json.dumps(description, indent=2) + "\n")
    return Exported(saved_model, tflite, metadata_path, precision)
