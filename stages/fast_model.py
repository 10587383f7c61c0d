"""The `fast` preset: accuracy per CPU-second, after Keller Jordan's airbench and David Page's
ResNet-9.

A stem convolution, then groups of conv -> max-pool -> batch norm -> ReLU -> conv -> batch norm
-> ReLU with a residual add, then a global max pool and the softmax head. Pooling right after
each group's first convolution puts batch norm and the second convolution at a quarter of the
pixels: on a 2-core AVX2 CPU Keras' (unfused) batch norm costs about half as much as the
convolutions, so where it runs matters.

Widths (`train.fast.widths`) trade accuracy for time. On full CIFAR-10 with a 2-core AVX-512
EPYC (bench/results, 2026-12-02): the default 24/48/96/192 trains ~870 images/s, airbench94's
32/64/256/256 ~360/s and reached 88.9% test accuracy in 12 epochs (26 minutes). bfloat16 gave
1.0-1.6x there and is >10x slower on AVX2-only CPUs, which emulate it; XLA was slower on CPU.
"""

from __future__ import annotations

import keras
from keras import layers

from stages.model_parts import BN_MOMENTUM, ModelOptions, probabilities, stem

# The pooled features are summed residual ReLU outputs, several units large; scaled down before
# the softmax head so the first high-rate steps do not blow up the logits (airbench scales its
# logits by 1/9 for the same reason). Without it, lr 0.2 diverged in the first epoch (loss 12).
HEAD_SCALE = 1 / 8


def _conv_bn_relu(
    x: keras.KerasTensor, filters: int, options: ModelOptions, pool: bool
) -> keras.KerasTensor:
    x = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, kernel_regularizer=options.regularizer()
    )(x)
    if pool:
        x = layers.MaxPooling2D()(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.Activation("relu")(x)


def fast(input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions) -> keras.Model:
    """Stem, three residual conv groups each halving the image, max pool; widths from
    `train.fast.widths`."""
    stem_width, *group_widths = options.fast.widths
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn_relu(stem(inputs, options), stem_width, options, pool=False)
    for filters in group_widths:
        x = _conv_bn_relu(x, filters, options, pool=True)
        x = layers.Add()([x, _conv_bn_relu(x, filters, options, pool=False)])
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Rescaling(HEAD_SCALE, name="head_scale")(x)
    x = layers.Dropout(options.rate(0.0))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="fast")
