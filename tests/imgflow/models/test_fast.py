import keras
import numpy as np
import pytest
import tensorflow as tf

from imgflow.models.fast import BiasShift, NormShift, PartialDirac, whiten_stem, whitening_filters
from imgflow.models.presets import ModelOptions, build_model, load_model
from imgflow.params.train import FastParams, TrainParams
from imgflow.training.loop import fit


def correlated_images(n: int = 200, side: int = 8, seed: int = 0) -> np.ndarray:
    """Smooth random images: neighbouring pixels and channels strongly correlated."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, size=(n, side // 2, side // 2, 1))
    smooth = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2)
    noise = rng.normal(0, 0.05, size=(n, side, side, 3))
    return (smooth * [1.0, 0.8, 0.5] + noise + 0.3).astype(np.float32)


def uint8_images(n: int = 200, side: int = 16) -> np.ndarray:
    return (correlated_images(n=n, side=side) * 150).clip(0, 255).astype(np.uint8)


# airbench's damping: small enough that every direction of these images comes out at unit variance.
EPSILON = 5e-4


def patch_outputs(images: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    out = tf.nn.conv2d(images, kernel, strides=1, padding="VALID").numpy() + bias
    return out.reshape(-1, kernel.shape[-1])


def test_whitening_filters_give_zero_mean_uncorrelated_unit_variance_patches() -> None:
    images = correlated_images()
    kernel, bias = whitening_filters(images, EPSILON)
    assert kernel.shape == (2, 2, 3, 24)
    outputs = patch_outputs(images, kernel, bias)[:, :12]
    np.testing.assert_allclose(outputs.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.cov(outputs, rowvar=False), np.eye(12), atol=0.02)


def test_whitening_filters_keep_each_direction_with_both_signs() -> None:
    kernel, bias = whitening_filters(correlated_images(), EPSILON)
    np.testing.assert_array_equal(kernel[..., 12:], -kernel[..., :12])
    np.testing.assert_array_equal(bias[12:], -bias[:12])


def test_larger_whiten_epsilon_damps_the_weakest_direction_and_keeps_the_strongest() -> None:
    images = correlated_images()
    sharp, _ = whitening_filters(images, EPSILON)
    damped, _ = whitening_filters(images, 0.5)
    # eigh orders directions by variance: the first is the weakest (noise), the last the image's
    # overall brightness, whose eigenvalue is far above half the mean.
    sharp_norms, damped_norms = (np.linalg.norm(k.reshape(12, 24), axis=0) for k in (sharp, damped))
    assert damped_norms[0] < 0.5 * sharp_norms[0]
    np.testing.assert_allclose(damped_norms[11], sharp_norms[11], rtol=0.2)


def test_whiten_stem_whitens_the_models_normalised_input() -> None:
    images = uint8_images()
    model = build_model("fast", (16, 16, 3), 2)
    whiten_stem(model, images, EPSILON)
    kernel = model.get_layer("whiten").get_weights()[0]
    bias = keras.ops.convert_to_numpy(model.get_layer("whiten_bias").bias)
    outputs = patch_outputs(images.astype(np.float32) / 255, kernel, bias)[:, :12]
    np.testing.assert_allclose(outputs.std(axis=0), 1.0, atol=0.02)


def test_fit_whitens_the_stem_and_keeps_it_frozen() -> None:
    rng = np.random.default_rng(0)
    images = uint8_images(n=16)
    labels = rng.integers(0, 2, size=16)
    params = TrainParams(model="fast", epochs=1, batch_size=8, fast={"whiten_epsilon": 0.3})
    model = fit((images, labels), (images[:4], labels[:4]), 2, params).model
    expected, _ = whitening_filters(images.astype(np.float32) / 255, 0.3)
    np.testing.assert_allclose(model.get_layer("whiten").get_weights()[0], expected, atol=1e-3)
    assert not model.get_layer("whiten").trainable


def test_partial_dirac_passes_the_first_channels_through() -> None:
    conv = keras.layers.Conv2D(
        5, 3, padding="same", use_bias=False, kernel_initializer=PartialDirac()
    )
    images = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype(np.float32)
    outputs = keras.ops.convert_to_numpy(conv(images))
    np.testing.assert_allclose(outputs[..., :3], images, atol=1e-6)
    assert np.abs(outputs[..., 3:]).sum() > 0  # the other filters keep their random start


def bias_after_one_sgd_step(lr_multiplier: float) -> np.ndarray:
    layer = BiasShift(lr_multiplier)
    layer.build((None, 2))
    optimizer = keras.optimizers.SGD(0.01)
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(layer(np.ones((1, 2), np.float32)))  # d loss / d bias = 1
    optimizer.apply_gradients(
        zip(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables, strict=True)
    )
    return keras.ops.convert_to_numpy(layer.bias)


def test_bias_shift_multiplies_the_sgd_learning_rate() -> None:
    np.testing.assert_allclose(bias_after_one_sgd_step(1.0), [-0.01, -0.01], rtol=1e-6)
    np.testing.assert_allclose(bias_after_one_sgd_step(64.0), [-0.64, -0.64], rtol=1e-6)


def norm_shift_with_bias(bias: list[float], momentum: float = 0.5) -> NormShift:
    layer = NormShift(64.0, momentum=momentum)
    layer.build((None, 5, 5, len(bias)))
    layer.stored_bias.assign(np.asarray(bias, np.float32) / layer.scale)
    return layer


def test_norm_shift_normalises_each_channel_then_adds_its_bias_while_training() -> None:
    images = np.random.default_rng(0).normal(2.0, 3.0, size=(16, 5, 5, 2)).astype(np.float32)
    out = keras.ops.convert_to_numpy(norm_shift_with_bias([0.5, -1.0])(images, training=True))
    mean, std = images.mean(axis=(0, 1, 2)), images.std(axis=(0, 1, 2))
    np.testing.assert_allclose(out, (images - mean) / std + [0.5, -1.0], atol=1e-4)


def test_norm_shift_moves_its_statistics_towards_each_training_batch() -> None:
    layer = norm_shift_with_bias([0.0], momentum=0.5)
    layer(np.full((4, 5, 5, 1), 6.0, np.float32), training=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), [3.0])  # 0 -> 3
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_variance), [0.5])  # 1 -> .5


def test_norm_shift_uses_the_moving_statistics_at_inference() -> None:
    layer = norm_shift_with_bias([1.0])
    layer.moving_mean.assign([2.0])
    layer.moving_variance.assign([4.0])
    out = keras.ops.convert_to_numpy(layer(np.full((1, 5, 5, 1), 6.0, np.float32)))
    np.testing.assert_allclose(out, (6.0 - 2.0) / 2.0 + 1.0, rtol=1e-4)


def test_norm_shift_learns_its_bias_at_the_multiplied_rate() -> None:
    layer = norm_shift_with_bias([0.0])
    images = np.random.default_rng(0).normal(size=(4, 5, 5, 1)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(layer(images, training=True))  # d loss / d shift = 100 pixels
    keras.optimizers.SGD(1e-4).apply_gradients(
        zip(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables, strict=True)
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.bias), [-0.64], rtol=1e-4)


def test_fast_widths_set_the_group_convolutions_filters() -> None:
    model = build_model("fast", (16, 16, 3), 2, ModelOptions(fast=FastParams(widths=(8, 12, 16))))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [24, 8, 8, 12, 12, 16, 16]  # whitening: 2x2x3x2


@pytest.mark.parametrize("side", [8, 32])
def test_fast_pools_down_to_one_pixel_for_small_and_cifar_images(side: int) -> None:
    model = build_model("fast", (side, side, 1), 2)
    pooled = [
        layer.output.shape[1]
        for layer in model.layers
        if isinstance(layer, keras.layers.MaxPooling2D)
    ]
    assert pooled == ([3, 1, 1] if side == 8 else [15, 7, 3])


@pytest.mark.parametrize("mixed_precision", [False, True])
def test_fast_saves_and_loads_its_custom_layers(tmp_path, mixed_precision: bool) -> None:
    # bfloat16: a loaded model casts variable reads inside its call; NormShift's must stay float32
    model = build_model("fast", (16, 16, 3), 2, ModelOptions(mixed_precision=mixed_precision))
    whiten_stem(model, uint8_images(), EPSILON)
    images = np.random.default_rng(1).integers(0, 256, size=(3, 16, 16, 3)).astype(np.uint8)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5
    )
