"""Model presets (`train.model`). Every model takes uint8-range pixels and normalises inside.

Putting the divide-by-255 in the graph means no caller (evaluate, a notebook, a server) can feed
the model data scaled differently from what it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

# Keras' default 0.99 lets the moving statistics lag far behind the weights on small datasets
# (a few hundred steps in all): validation accuracy then sits near chance while training
# accuracy is 99%. 0.9 tracks them within ~20 steps.
BN_MOMENTUM = 0.9


def _normalise(inputs: keras.KerasTensor) -> keras.KerasTensor:
    return layers.Rescaling(1.0 / 255.0, name="normalise")(inputs)


def mlp(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """Small fully connected baseline: flatten, two hidden layers."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten()(_normalise(inputs))
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mlp")


def cnn_basic(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """Three blocks of two 3x3 convolutions (32, 64, 128 filters) with batch norm and max
    pooling, dropout 0.2, then a 1,024-unit dense layer."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = _normalise(inputs)
    for filters in (32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn_basic")


PRESETS: dict[str, Callable[[tuple[int, int, int], int], keras.Model]] = {
    "mlp": mlp,
    "cnn_basic": cnn_basic,
}


def build_model(preset: str, input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    if preset not in PRESETS:
        raise KeyError(f"train.model: unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[preset](input_shape, n_classes)


def load_model(path: str | Path) -> keras.Model:
    """Load a model saved by `train`. Importing this module registers every custom layer the
    presets use, so callers (evaluate, notebooks) never pass `custom_objects`."""
    return keras.models.load_model(path, compile=False)
