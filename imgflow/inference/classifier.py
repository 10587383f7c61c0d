"""A saved model with its metadata: everything `predict` and `export` need, from one file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imgflow.models.metadata import MetadataError, ModelMetadata, mismatch, read_metadata

# Images per forward pass: bounds the memory a large folder takes.
BATCH = 64


@dataclass(frozen=True)
class Classifier:
    model: Any  # keras.Model; Keras is imported only once the metadata has been read
    metadata: ModelMetadata

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """N x classes probabilities for uint8 N x H x W x C images (inference mode)."""
        if len(images) == 0:
            return np.zeros((0, len(self.metadata.classes)), dtype=np.float32)
        return np.asarray(self.model.predict(images, batch_size=BATCH, verbose=0))


def load_classifier(path: Path | str) -> Classifier:
    """The model at `path` with its metadata; MetadataError names the file and what is wrong.

    The metadata is read first: a wrong file fails before TensorFlow's slow import.
    """
    path = Path(path)
    metadata = read_metadata(path)
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises anything from ValueError to OSError for a bad file
        raise MetadataError(f"{path}: Keras cannot load it ({type(exc).__name__}: {exc})") from None
    problem = mismatch(model, metadata)
    if problem:
        raise MetadataError(f"{path}: {problem}")
    return Classifier(model, metadata)
