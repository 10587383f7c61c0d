"""Model presets (`train.model`). Every model takes uint8-range pixels and normalises inside.

Putting the divide-by-255 in the graph means no caller (evaluate, a notebook, a server) can feed
the model data scaled differently from what it was trained on. Training-time augmentation also
lives in the graph (imgflow.models.augment) and does nothing at inference.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

# Importing imgflow.models.augment registers the custom layers a saved model may hold.
from imgflow.models import augment  # noqa: F401
from imgflow.models.fast import fast
from imgflow.models.parts import BN_MOMENTUM, ModelOptions, probabilities, stem
from imgflow.models.transfer import transfer

__all__ = ["BN_MOMENTUM", "PRESETS", "ModelOptions", "build_model", "load_model"]


def mlp(input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions) -> keras.Model:
    """Small fully connected baseline: flatten, two hidden layers."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten()(stem(inputs, options))
    x = layers.Dense(256, activation="relu", kernel_regularizer=options.regularizer())(x)
    x = layers.Dropout(options.rate(0.2))(x)
    x = layers.Dense(128, activation="relu", kernel_regularizer=options.regularizer())(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="mlp")


def _conv_blocks(
    x: keras.KerasTensor,
    options: ModelOptions,
    rates: tuple[float, ...],
    activation: Callable[[], layers.Layer],
) -> keras.KerasTensor:
    """Blocks of two 3x3 convolutions (32, 64, 128 filters) with batch norm, max pooling and
    dropout at the block's rate."""
    for filters, rate in zip((32, 64, 128), rates, strict=True):
        for _ in range(2):
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=False, kernel_regularizer=options.regularizer()
            )(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = activation()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(options.rate(rate))(x)
    return layers.Flatten()(x)


def cnn_basic(
    input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions
) -> keras.Model:
    """Three conv blocks, dropout 0.2, then a 1,024-unit dense layer
    (docs/decisions/cnn-presets.md)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_blocks(
        stem(inputs, options), options, (0.2, 0.2, 0.2), lambda: layers.Activation("relu")
    )
    x = layers.Dense(1024, activation="relu", kernel_regularizer=options.regularizer())(x)
    x = layers.Dropout(options.rate(0.2))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="cnn_basic")


def cnn_leaky(
    input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions
) -> keras.Model:
    """cnn_basic's blocks with LeakyReLU(0.1) and dropout rising 0.2/0.3/0.4, then a 512-unit
    dense layer with batch norm and dropout 0.5 (docs/decisions/cnn-presets.md)."""
    inputs = keras.Input(shape=input_shape, name="image")
    leaky = lambda: layers.LeakyReLU(negative_slope=0.1)  # noqa: E731
    x = _conv_blocks(stem(inputs, options), options, (0.2, 0.3, 0.4), leaky)
    x = layers.Dense(512, use_bias=False, kernel_regularizer=options.regularizer())(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = leaky()(x)
    x = layers.Dropout(options.rate(0.5))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="cnn_leaky")


PRESETS: dict[str, Callable[[tuple[int, int, int], int, ModelOptions], keras.Model]] = {
    "mlp": mlp,
    "cnn_basic": cnn_basic,
    "cnn_leaky": cnn_leaky,
    "fast": fast,
    "transfer": transfer,
}


def build_model(
    preset: str,
    input_shape: tuple[int, int, int],
    n_classes: int,
    options: ModelOptions | None = None,
) -> keras.Model:
    if preset not in PRESETS:
        raise KeyError(f"train.model: unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    options = options or ModelOptions()
    # The policy is global in Keras: set it only while this model's layers are created.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if options.mixed_precision else "float32")
    try:
        return PRESETS[preset](input_shape, n_classes, options)
    finally:
        keras.config.set_dtype_policy(previous)


def load_model(path: str | Path) -> keras.Model:
    """Load a model saved by `train`: Keras' own classes only (imgflow/models/portable.py), so
    plain `keras.saving.load_model` loads it too. Importing this module also registers every
    custom layer the presets use, for a model saved by plain `Model.save` in this process."""
    return keras.models.load_model(path, compile=False)
