"""The `fast` preset: accuracy per CPU-second, after Keller Jordan's airbench94.

A frozen 2x2 whitening convolution, then three groups of conv -> max-pool -> batch norm -> GELU
-> conv -> batch norm -> GELU, then a global max pool and the softmax head. No residual adds:
identity ("dirac") initialisation of each convolution's first filters gives the same start.

What makes it train in few epochs (each tested in airbench's ablations):
- the first layer is fixed to whiten 2x2 patches of the training images (`whiten_stem`), so the
  network starts from decorrelated inputs instead of learning them;
- the batch-norm biases learn 64x faster than the weights (`BiasShift`, fused with the
  normalisation in `NormShift`); batch norm has no scale, which the next convolution's weights
  would only duplicate;
- the preset's lookahead (`train.lookahead`).

Widths (`train.fast.widths`) trade accuracy for time. The ablations' figures and this port's
measured runs are in docs/decisions/fast-preset.md.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import layers

from imgflow.models.parts import BN_MOMENTUM, ModelOptions, probabilities, stem

# Whitening patch side: 2x2 patches of 3 channels give 12 directions, each kept with both signs
# (GELU would otherwise drop the negative half), so 24 filters for RGB.
WHITEN_PATCH = 2
# Images the whitening statistics come from: 5,000 CIFAR images give ~4.8 million patches,
# far more than a 12x12 covariance needs.
WHITEN_SAMPLE = 5000
# Keras' default 1e-3 is a tenth of the variance batch norm divides by in the last group once
# weight decay has shrunk the kernels (1e-2 after 15 CIFAR epochs), so the normalisation drifts
# with the weights' scale. airbench uses 1e-12; 1e-5 is as negligible and safe in bfloat16.
BN_EPSILON = 1e-5
# Learning-rate multiplier of the batch-norm biases: airbench's, one of its larger savings in
# epochs.
BN_BIAS_LR_MULTIPLIER = 64
# Logits scaled down so the first high-rate steps do not blow up the softmax (airbench's 1/9);
# without such a scale high learning rates diverge (docs/decisions/fast-preset.md).
HEAD_SCALE = 1 / 9


@keras.saving.register_keras_serializable(package="imgflow")
class BiasShift(layers.Layer):
    """Adds a learned per-channel bias stored divided by sqrt(`lr_multiplier`) and multiplied
    back in the forward pass. Under SGD (with or without momentum) that is exactly a learning
    rate `lr_multiplier` times larger for this bias: Keras has no per-variable rates. Under
    Adam, which ignores gradient scale, the bias moves sqrt(`lr_multiplier`) times faster."""

    def __init__(self, lr_multiplier: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lr_multiplier = lr_multiplier
        self.scale = math.sqrt(lr_multiplier)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.stored_bias = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", name="stored_bias"
        )

    def call(self, x: Any) -> Any:
        return x + self.bias

    @property
    def bias(self) -> Any:
        """The bias as the forward pass adds it."""
        return self.scale * self.stored_bias

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lr_multiplier": self.lr_multiplier}


@keras.saving.register_keras_serializable(package="imgflow")
class NormShift(BiasShift):
    """Batch norm without a scale, shifted by `BiasShift`'s fast-learning bias, in one fused
    kernel (TensorFlow's FusedBatchNormV3, oneDNN's on x86; feature maps N x H x W x C). The
    same arithmetic as Keras' BatchNormalization(center=False, scale=False) then a BiasShift,
    which under bfloat16 run as a dozen small ops each way with float32 casts
    (docs/decisions/normshift-fused-batch-norm.md)."""

    def __init__(
        self,
        lr_multiplier: float = 1.0,
        momentum: float = BN_MOMENTUM,
        epsilon: float = BN_EPSILON,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr_multiplier, **kwargs)
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = (input_shape[-1],)
        # autocast off: the fused kernel takes shift and statistics in float32, also when a
        # bfloat16 model (and a loaded one's autocast scope) would cast every variable read.
        self.stored_bias, self.moving_mean, self.moving_variance = (
            self.add_weight(
                shape=channels,
                initializer=initializer,
                trainable=name == "stored_bias",
                autocast=False,
                name=name,
            )
            for name, initializer in (
                ("stored_bias", "zeros"),
                ("moving_mean", "zeros"),
                ("moving_variance", "ones"),
            )
        )

    def call(self, x: Any, training: bool | None = None) -> Any:
        import tensorflow as tf

        scale = tf.ones(x.shape[-1:], dtype="float32")
        shift = self.bias
        if not training:
            return tf.compat.v1.nn.fused_batch_norm(
                x,
                scale,
                shift,
                mean=self.moving_mean,
                variance=self.moving_variance,
                epsilon=self.epsilon,
                is_training=False,
            )[0]
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, scale, shift, epsilon=self.epsilon, is_training=True
        )
        # The kernel's batch variance is the unbiased one (n / (n - 1) times Keras'): no
        # difference that matters over the thousands of pixels in a batch.
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            moving.assign(self.momentum * moving + (1 - self.momentum) * batch)
        return y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="imgflow")
class PartialDirac(keras.initializers.Initializer):
    """Glorot-uniform kernels whose first min(in, out) filters are identities: filter i passes
    input channel i through unchanged. An implicit residual connection at the start."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        kernel = keras.ops.convert_to_numpy(
            keras.initializers.GlorotUniform(self.seed)(shape, "float32")
        )
        height, width, channels_in, channels_out = shape
        n = min(channels_in, channels_out)
        kernel[..., :n] = 0.0
        kernel[height // 2, width // 2, np.arange(n), np.arange(n)] = 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def whitening_filters(
    images: np.ndarray, epsilon: float, patch: int = WHITEN_PATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel (patch, patch, channels, 2 x patch^2 x channels) and bias that map each patch of
    `images` (N, H, W, C, already normalised) to uncorrelated unit-variance zero-mean outputs,
    each direction with both signs. The principal directions of the patch covariance
    (PCA whitening). `epsilon`, a fraction of the mean eigenvalue added to each one, damps the
    smallest directions (`train.fast.whiten_epsilon`)."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (patch, patch), axis=(1, 2))
    # (N, H', W', C, ph, pw) -> rows in the kernel's (ph, pw, C) order
    # One float64 copy (460 MB for 5,000 CIFAR images), centred in place; np.cov would add two
    # more. float64: the smallest eigenvalues' directions are scaled up the most.
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, patch * patch * images.shape[-1])
    patches = patches.astype(np.float64)
    mean = patches.mean(axis=0)
    patches -= mean
    covariance = (patches.T @ patches) / max(len(patches) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    damped = eigenvalues + epsilon * eigenvalues.mean()
    directions = eigenvectors / np.sqrt(np.maximum(damped, np.finfo(np.float64).tiny))
    directions = np.concatenate([directions, -directions], axis=1)
    channels = images.shape[-1]
    kernel = directions.reshape(patch, patch, channels, 2 * patch * patch * channels)
    return kernel.astype(np.float32), (-mean @ directions).astype(np.float32)


def whiten_stem(model: keras.Model, images: np.ndarray, epsilon: float) -> None:
    """Fit the frozen whitening layer to (a sample of) the training images, uint8 range, before
    training starts. The statistics are taken after the model's own normalisation."""
    # Evenly spaced, not the first ones: a split may be ordered by class.
    sample = images[:: max(1, len(images) // WHITEN_SAMPLE)][:WHITEN_SAMPLE]
    normalised = keras.ops.convert_to_numpy(model.get_layer("normalise")(sample))
    kernel, bias = whitening_filters(normalised, epsilon)
    model.get_layer("whiten").set_weights([kernel])
    bias_layer = model.get_layer("whiten_bias")
    bias_layer.set_weights([bias / bias_layer.scale])


def _pool(x: keras.KerasTensor, size: int = 2) -> keras.KerasTensor:
    # "valid" drops the odd last row as airbench does (31 -> 15 -> 7 -> 3 on CIFAR); "same" only
    # where "valid" would leave nothing (small images such as 8x8 digits).
    fits = min(x.shape[1], x.shape[2]) >= size
    return layers.MaxPooling2D(size, padding="valid" if fits else "same")(x)


def _norm_gelu(x: keras.KerasTensor) -> keras.KerasTensor:
    return layers.Activation("gelu")(NormShift(BN_BIAS_LR_MULTIPLIER)(x))


def _conv(x: keras.KerasTensor, filters: int, options: ModelOptions) -> keras.KerasTensor:
    return layers.Conv2D(
        filters,
        3,
        padding="same",
        use_bias=False,
        kernel_initializer=PartialDirac(),
        kernel_regularizer=options.regularizer(),
    )(x)


def fast(input_shape: tuple[int, int, int], n_classes: int, options: ModelOptions) -> keras.Model:
    """Whitening stem, three conv groups each halving the image, max pool; group widths from
    `train.fast.widths`. Call `whiten_stem` with training images before fitting."""
    inputs = keras.Input(shape=input_shape, name="image")
    channels = input_shape[-1]
    # float32 even under mixed precision: the whitening kernel scales the faintest patch
    # directions over 100x more than the strongest (filter norms 1.3 to 163 on CIFAR-10), and
    # would scale bfloat16's rounding errors in its weights and inputs up with them. It does
    # 0.2% of the network's multiply-adds.
    x = layers.Conv2D(
        2 * WHITEN_PATCH * WHITEN_PATCH * channels,
        WHITEN_PATCH,
        use_bias=False,
        trainable=False,
        name="whiten",
        dtype="float32",
    )(stem(inputs, options))
    # The whitening bias starts at the centring offset and learns at the ordinary rate.
    x = BiasShift(name="whiten_bias", dtype="float32")(x)
    x = layers.Activation("gelu")(x)
    for filters in options.fast.widths:
        x = _norm_gelu(_pool(_conv(x, filters, options)))
        x = _norm_gelu(_conv(x, filters, options))
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Rescaling(HEAD_SCALE, name="head_scale")(x)
    x = layers.Dropout(options.rate(0.0))(x)
    return keras.Model(inputs, probabilities(x, n_classes, options), name="fast")
