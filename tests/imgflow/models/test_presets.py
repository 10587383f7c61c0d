from pathlib import Path

import keras
import numpy as np
import pytest

from imgflow.models.presets import BN_MOMENTUM, PRESETS, ModelOptions, build_model, load_model
from imgflow.params.train import AugmentationParams, TrainParams, TransferParams
from imgflow.training.loop import fit, unfreeze_for_fine_tuning

TINY_TRANSFER = TransferParams(weights=None, alpha=0.35, input_size=32)


def toy_rgb(n: int, seed: int, side: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, size=(n, side, side, 3)) + labels[:, None, None, None] * 190
    return images.astype(np.uint8), labels.astype(np.int64)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_trains_saves_and_loads_with_the_same_predictions(
    preset: str, tmp_path: Path
) -> None:
    params = TrainParams(
        model=preset,
        epochs=1,
        batch_size=8,
        transfer=TINY_TRANSFER,
        fine_tune={"epochs": 0},
        augmentation={"cutout": 4},
    )
    model = fit(toy_rgb(16, 0), toy_rgb(8, 1), 2, params).model
    images = toy_rgb(4, 2)[0]
    before = model.predict(images, verbose=0)
    model.save(tmp_path / "model.keras")
    after = load_model(tmp_path / "model.keras").predict(images, verbose=0)
    assert after.shape == (4, 2) and after.dtype == np.float32
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("preset", ["mlp", "cnn_basic", "cnn_leaky", "fast"])
def test_preset_normalises_pixels_inside_the_model(preset: str) -> None:
    model = build_model(preset, (16, 16, 1), n_classes=3)
    rescale = model.get_layer("normalise")
    assert rescale.scale == pytest.approx(1 / 255)
    assert model.layers.index(rescale) == 1  # first layer after the input


def test_transfer_uses_mobilenet_scaling_and_upsamples_small_images() -> None:
    model = build_model("transfer", (16, 16, 1), 3, ModelOptions(transfer=TINY_TRANSFER))
    rescale = model.get_layer("normalise")
    assert (rescale.scale, rescale.offset) == (pytest.approx(1 / 127.5), -1.0)
    assert model.get_layer("upsample").output.shape[1:] == (32, 32, 3)
    assert not model.get_layer("backbone").trainable


def test_fine_tuning_unfreezes_the_transfer_backbone() -> None:
    model = build_model("transfer", (32, 32, 3), 2, ModelOptions(transfer=TINY_TRANSFER))
    unfreeze_for_fine_tuning(model)
    assert model.get_layer("backbone").trainable


def test_mixed_precision_computes_in_bfloat16_and_outputs_float32() -> None:
    model = build_model("fast", (16, 16, 3), 2, ModelOptions(mixed_precision=True))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert {layer.compute_dtype for layer in convs if layer.name != "whiten"} == {"bfloat16"}
    assert model.get_layer("probabilities").compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left alone


def test_mixed_precision_keeps_pixels_and_whitening_in_float32() -> None:
    options = ModelOptions(augmentation=AugmentationParams(flip=True), mixed_precision=True)
    model = build_model("fast", (16, 16, 3), 2, options)
    augmentation = model.get_layer("augmentation")
    first = [model.get_layer(name) for name in ("normalise", "whiten", "whiten_bias")]
    assert {layer.compute_dtype for layer in [*first, augmentation]} == {"float32"}
    assert {step.compute_dtype for step in augmentation.steps} == {"float32"}


def test_augmentation_sits_right_after_normalisation() -> None:
    options = ModelOptions(augmentation=AugmentationParams(flip=True))
    model = build_model("cnn_basic", (16, 16, 3), 2, options)
    assert model.layers.index(model.get_layer("augmentation")) == 2


def test_dropout_option_overrides_every_preset_rate() -> None:
    model = build_model("cnn_leaky", (16, 16, 3), 2, ModelOptions(dropout=0.05))
    rates = {layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert rates == {0.05}


def test_cnn_leaky_dropout_rises_per_block() -> None:
    model = build_model("cnn_leaky", (16, 16, 3), 2)
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.3, 0.4, 0.5]


def test_l1_l2_option_regularises_every_trained_kernel() -> None:
    model = build_model("fast", (16, 16, 3), 2, ModelOptions(l2=1e-3))
    kernels = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense) and layer.trainable
    ]
    assert kernels and all(layer.kernel_regularizer is not None for layer in kernels)
    assert len(model.losses) == len(kernels)


def test_cnn_basic_batch_norm_tracks_statistics_quickly() -> None:
    model = build_model("cnn_basic", (16, 16, 3), n_classes=2)
    momenta = {layer.momentum for layer in model.layers if "batch_normalization" in layer.name}
    assert momenta == {BN_MOMENTUM}


def test_unknown_preset_names_the_key() -> None:
    with pytest.raises(KeyError, match="train.model"):
        build_model("resnet999", (8, 8, 3), n_classes=2)
