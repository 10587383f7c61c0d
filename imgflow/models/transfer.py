"""The `transfer` preset: a MobileNetV2 backbone from keras.applications with a new head.

The backbone starts frozen (only the head learns); `train`'s fine-tuning phase unfreezes it.
ImageNet weights need a download from Google's storage; `train.transfer.weights` also takes a
local weights file, or null for random weights (what the tests use: nothing can be downloaded).
"""

from __future__ import annotations

import keras
from keras import layers

from imgflow.models.parts import ModelOptions, probabilities, stem

BACKBONE = "backbone"  # the layer name `train` unfreezes for fine-tuning
MIN_SIDE = 32  # the smallest input MobileNetV2 accepts


def transfer(
    input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions
) -> keras.Model:
    """uint8 pixels -> [-1, 1] (MobileNetV2's own preprocessing) -> augment -> upsample to
    `transfer.input_size` -> frozen backbone -> average pool -> dropout -> softmax."""
    settings = options.transfer
    inputs = keras.Input(shape=input_shape, name="image")
    x = stem(inputs, options, scale=1 / 127.5, offset=-1.0)
    if input_shape[-1] == 1:  # ImageNet backbones take three channels
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    side = max(settings.input_size, MIN_SIDE)
    if input_shape[:2] != (side, side):
        x = layers.Resizing(side, side, interpolation="bilinear", name="upsample")(x)
    backbone = keras.applications.MobileNetV2(
        input_shape=(side, side, 3),
        alpha=settings.alpha,
        include_top=False,
        weights=settings.weights,
        pooling="avg",
        name=BACKBONE,
    )
    backbone.trainable = False
    # training=False keeps the backbone's batch norm statistics fixed, also once unfrozen
    # (Keras' transfer-learning guide: otherwise fine-tuning wrecks what the backbone learnt).
    x = backbone(x, training=False)
    x = layers.Dropout(options.rate(0.2))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="transfer")
