"""Pieces every preset shares: the options a preset honours, normalisation, the output head."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
from keras import layers

from imgflow.models.augment import Augmentation
from imgflow.params.train import AugmentationParams, FastParams, TransferParams

# Keras' default 0.99 lets the moving statistics lag far behind the weights on small datasets
# (a few hundred steps in all): validation accuracy then sits near chance while training
# accuracy is 99%. 0.9 tracks them within ~20 steps.
BN_MOMENTUM = 0.9


@dataclass(frozen=True)
class ModelOptions:
    """What `train` params change inside a preset's graph."""

    augmentation: AugmentationParams = field(default_factory=AugmentationParams)
    dropout: float | None = None  # every dropout layer's rate; None: the preset's own
    l1: float = 0.0
    l2: float = 0.0
    mixed_precision: bool = False  # bfloat16 compute, float32 weights and probabilities
    # Random weights by default: nothing can be downloaded on the machines the tests run on.
    transfer: TransferParams = field(default_factory=lambda: TransferParams(weights=None))
    fast: FastParams = field(default_factory=FastParams)

    def rate(self, preset_rate: float) -> float:
        return preset_rate if self.dropout is None else self.dropout

    def regularizer(self) -> keras.regularizers.Regularizer | None:
        if self.l1 == 0 and self.l2 == 0:
            return None
        return keras.regularizers.L1L2(l1=self.l1, l2=self.l2)


def stem(
    inputs: keras.KerasTensor, options: ModelOptions, scale: float = 1 / 255, offset: float = 0.0
) -> keras.KerasTensor:
    """Normalise uint8-range pixels (first layer, so no caller can feed differently scaled data),
    then augment while training. Both in float32 even under mixed precision: bfloat16 keeps 8
    significant bits, so a normalised pixel near 1 would carry up to half a grey level of
    rounding error. The first layer that computes in bfloat16 casts."""
    x = layers.Rescaling(scale, offset=offset, name="normalise", dtype="float32")(inputs)
    aug = options.augmentation
    if aug.enabled:
        x = Augmentation(
            image_size=tuple(inputs.shape[1:3]),
            flip=aug.flip,
            translate=aug.translate,
            translate_fill=aug.translate_fill,
            cutout=aug.cutout,
            active=aug.phases == "all",
            name="augmentation",
            dtype="float32",
        )(x)
    return x


def probabilities(x: keras.KerasTensor, n_classes: int, options: ModelOptions) -> keras.KerasTensor:
    """Softmax output, float32 even under mixed precision (bfloat16 would round probabilities
    to 3 significant digits)."""
    return layers.Dense(
        n_classes,
        activation="softmax",
        kernel_regularizer=options.regularizer(),
        dtype="float32",
        name="probabilities",
    )(x)
