"""imgflow/models/portable.py: the saved model rebuilt from Keras' own classes only."""

import json
from typing import Any

import keras
import numpy as np
import pytest

from imgflow.models.fast import whiten_stem
from imgflow.models.portable import (
    computes_in_float32,
    float32_model,
    foreign_classes,
    portable_model,
)
from imgflow.models.presets import ModelOptions, build_model
from imgflow.params.train import AugmentationParams, FastParams, TransferParams

AUGMENTED = AugmentationParams(flip=True, translate=2, cutout=3)


def trained_looking(preset: str, mixed_precision: bool = False) -> tuple[keras.Model, np.ndarray]:
    """A preset with every custom piece it can hold, batch-norm statistics and biases away from
    their starting values (as after training), and a few images for it."""
    options = ModelOptions(
        augmentation=AUGMENTED,
        mixed_precision=mixed_precision,
        fast=FastParams(widths=(8, 12, 16)),
        transfer=TransferParams(weights=None, alpha=0.35, input_size=32),
    )
    rng = np.random.default_rng(0)
    model = build_model(preset, (16, 16, 3), 4, options)
    if preset == "fast":
        whiten_stem(model, rng.integers(0, 256, (20, 16, 16, 3)).astype(np.uint8), 5e-4)
    for variable in model.non_trainable_variables + model.trainable_variables:
        name = variable.path.split("/")[-1]
        if name in ("moving_mean", "stored_bias", "beta"):
            variable.assign(rng.normal(0, 0.5, variable.shape).astype("float32"))
        elif name == "moving_variance":
            variable.assign(rng.uniform(0.5, 2.0, variable.shape).astype("float32"))
    images = rng.integers(0, 256, (6, 16, 16, 3)).astype(np.uint8)
    return model, images


@pytest.mark.parametrize("preset", ["fast", "cnn_leaky", "transfer", "mlp"])
def test_portable_model_predicts_what_the_trained_model_predicts(preset: str) -> None:
    model, images = trained_looking(preset)
    expected = model.predict(images, verbose=0)
    # BatchNormalization in place of the fused kernel rounds differently in the last bits.
    np.testing.assert_allclose(
        portable_model(model).predict(images, verbose=0), expected, rtol=0, atol=1e-5
    )


def test_portable_fast_model_under_bfloat16_predicts_what_the_trained_model_predicts() -> None:
    model, images = trained_looking("fast", mixed_precision=True)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(
        portable_model(model).predict(images, verbose=0), expected, rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("preset", ["fast", "cnn_leaky", "transfer"])
def test_portable_model_config_names_only_keras_classes(preset: str) -> None:
    config = portable_model(trained_looking(preset)[0]).get_config()
    assert list(foreign_classes(config)) == []
    assert "imgflow" not in json.dumps(config)


def test_portable_model_replaces_augmentation_by_identity() -> None:
    portable = portable_model(trained_looking("cnn_leaky")[0])
    assert type(portable.get_layer("augmentation")) is keras.layers.Identity


def test_portable_model_has_no_optimizer() -> None:
    model, _ = trained_looking("fast")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert not portable_model(model).compiled


@keras.saving.register_keras_serializable(package="imgflow_tests")
class Doubling(keras.layers.Layer):
    def call(self, x: Any) -> Any:
        return 2 * x


def test_a_custom_layer_without_a_keras_equivalent_is_refused_by_name() -> None:
    inputs = keras.Input((4,), name="image")
    model = keras.Model(inputs, Doubling(name="twice")(keras.layers.Dense(2)(inputs)))
    with pytest.raises(ValueError, match=r"twice: .*test_portable\.Doubling"):
        portable_model(model)


def test_float32_model_computes_in_float32_with_the_same_weights() -> None:
    model, images = trained_looking("fast", mixed_precision=True)
    portable = portable_model(model)
    copy = float32_model(portable)
    assert not computes_in_float32(portable) and computes_in_float32(copy)
    for ours, theirs in zip(copy.weights, portable.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours), theirs.numpy())
