"""The `fast` preset: accuracy per CPU-second, after Keller Jordan's airbench and David Page's
ResNet-9.

A stem convolution, then groups of conv -> max-pool -> batch norm -> ReLU -> conv -> batch norm
-> ReLU with a residual add, then a global max pool and the softmax head. Pooling right after
each group's first convolution puts batch norm and the second convolution at a quarter of the
pixels: on this project's 2-core AVX2 CPU Keras' (unfused) batch norm costs about half as much
as the convolutions, so where it runs matters. Widths and the no-bfloat16/no-XLA choice come
from timings on that CPU, written up in bench/results and the train preset's notes.
"""

from __future__ import annotations

import keras
from keras import layers

from stages.model_parts import BN_MOMENTUM, ModelOptions, probabilities, stem

# Measured on 5,120 CIFAR-10 images, batch 512, shared 2-core CPU: stem 24 + groups 48/96/192
# trains ~139 images/s; 32 + 64/128/256 ~75/s; 64 + 128/256/512 ~19/s; bfloat16 >10x slower
# (no AMX or AVX-512 BF16 here: oneDNN emulates it).
STEM_WIDTH = 24
GROUP_WIDTHS = (48, 96, 192)
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
    """Stem, three residual conv groups (48, 96, 192 filters) each halving the image, max pool."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn_relu(stem(inputs, options), STEM_WIDTH, options, pool=False)
    for filters in GROUP_WIDTHS:
        x = _conv_bn_relu(x, filters, options, pool=True)
        x = layers.Add()([x, _conv_bn_relu(x, filters, options, pool=False)])
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Rescaling(HEAD_SCALE, name="head_scale")(x)
    x = layers.Dropout(options.rate(0.0))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="fast")
