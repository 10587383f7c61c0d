"""The inference model `train` saves: the trained model rebuilt from Keras' own classes only.

Keras 3 finds a class named in a saved config either in its registry, which holds only the
classes of modules imported so far, or by importing the module the config names, which it does
only for Keras' own packages (a saved file must not run arbitrary code). So a model holding
imgflow's custom layers loads only in a process that has imported imgflow first. Rebuilt from
Keras' classes, the saved model loads anywhere Keras does (a notebook, a server, TensorFlow
Serving through `imgflow export`), and needs nothing from this project.

Each custom piece is replaced by the Keras layer that computes the same at inference:

- `Augmentation` (flip, translate, cutout) by `Identity`: it passes images through unchanged
  at inference;
- `NormShift` by `BatchNormalization(center=True, scale=False)` with the same moving statistics,
  its bias (`BiasShift.bias`, the stored bias times its scale) as the offset;
- a plain `BiasShift` by `Rescaling(1, offset=bias)`: multiplying by 1 is exact;
- the `PartialDirac` kernel initializer by Glorot-uniform: the weights are loaded, so an
  initializer only has to exist.

The optimizer (and with it a custom learning-rate schedule) is left out: a saved model is for
inference, and nothing resumes training from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
from keras import layers

from imgflow.models.augment import Augmentation
from imgflow.models.fast import BiasShift, NormShift, PartialDirac

# The packages Keras imports a saved class from (keras.src.saving.serialization_lib).
KERAS_PACKAGES = ("keras",)

Weights = list[np.ndarray]


def _float32(value: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)


def _norm_shift(layer: NormShift) -> tuple[layers.Layer, Weights]:
    replacement = layers.BatchNormalization(
        momentum=layer.momentum,
        epsilon=layer.epsilon,
        center=True,
        scale=False,
        name=layer.name,
        dtype=layer.dtype_policy.name,
    )
    weights = [_float32(layer.bias), _float32(layer.moving_mean), _float32(layer.moving_variance)]
    return replacement, weights


def _bias_shift(layer: BiasShift) -> tuple[layers.Layer, Weights]:
    return layers.Rescaling(
        1.0, offset=_float32(layer.bias), name=layer.name, dtype=layer.dtype_policy.name
    ), []


def _augmentation(layer: Augmentation) -> tuple[layers.Layer, Weights]:
    return layers.Identity(name=layer.name, dtype=layer.dtype_policy.name), []


# Subclasses first: NormShift is a BiasShift.
REPLACEMENTS: tuple[tuple[type, Callable[[Any], tuple[layers.Layer, Weights]]], ...] = (
    (NormShift, _norm_shift),
    (BiasShift, _bias_shift),
    (Augmentation, _augmentation),
)
CUSTOM_INITIALIZERS = {keras.saving.get_registered_name(PartialDirac)}


def _replacement(layer: layers.Layer) -> tuple[layers.Layer, Weights] | None:
    for cls, replace in REPLACEMENTS:
        if isinstance(layer, cls):
            return replace(layer)
    return None


def _builtin_initializers(config: Any) -> Any:
    """`config` with each custom initializer replaced by Glorot-uniform with the same seed."""
    if isinstance(config, dict):
        if config.get("registered_name") in CUSTOM_INITIALIZERS:
            seed = config.get("config", {}).get("seed")
            return keras.saving.serialize_keras_object(keras.initializers.GlorotUniform(seed))
        return {key: _builtin_initializers(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_builtin_initializers(item) for item in config]
    return config


def foreign_classes(config: Any, where: str = "model") -> Iterator[str]:
    """`<layer>: <module>.<class>` for each object in a saved config that Keras could load only
    after importing its module: anything outside Keras' own packages."""
    if isinstance(config, dict):
        if isinstance(config.get("name"), str):  # a layer's entry or its config
            where = config["name"]
        module = config.get("module")
        if isinstance(module, str) and module.split(".")[0] not in KERAS_PACKAGES:
            yield f"{where}: {module}.{config.get('class_name')}"
        for value in config.values():
            yield from foreign_classes(value, where)
    elif isinstance(config, list):
        for item in config:
            yield from foreign_classes(item, where)


def portable_model(model: keras.Model) -> keras.Model:
    """A new, uncompiled model of Keras' own classes that computes what `model` computes at
    inference, with its weights. Raises ValueError naming any layer it cannot rebuild so."""
    config = model.get_config()
    if "layers" not in config:
        raise ValueError(f"model {model.name!r}: only functional models can be saved")
    weights: dict[str, Weights] = {}
    entries = []
    for entry in config["layers"]:
        layer = model.get_layer(entry["name"])
        replaced = _replacement(layer)
        if replaced is not None:
            new_layer, weights[layer.name] = replaced
            serialized = keras.saving.serialize_keras_object(new_layer)
            entry = {**entry, **{k: serialized[k] for k in ("module", "class_name", "config")}}
            entry["registered_name"] = serialized.get("registered_name")
        entries.append(_builtin_initializers(entry))
    config = {**config, "layers": entries}
    foreign = sorted(set(foreign_classes(config)))
    if foreign:
        raise ValueError(f"cannot save with Keras' own classes only: {'; '.join(foreign)}")
    portable = keras.Model.from_config(config)
    for new_layer in portable.layers:
        if new_layer.name in weights:
            new_layer.set_weights(weights[new_layer.name])
        else:
            _copy_state(model.get_layer(new_layer.name), new_layer)
    return portable


def _copy_state(source: layers.Layer, target: layers.Layer) -> None:
    """Every variable, random-seed states included, so a saved model's bytes depend only on
    the trained model."""
    pairs = list(zip(source.variables, target.variables, strict=True))
    for old, new in pairs:
        if tuple(old.shape) != tuple(new.shape):
            raise ValueError(f"layer {source.name!r}: variable {old.path} changed shape")
        new.assign(old)


def _float32_policies(config: Any) -> Any:
    """`config` with every dtype policy set to float32 (mixed ones compute in bfloat16)."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(item) for item in config]
    return config


def float32_model(model: keras.Model) -> keras.Model:
    """`model` computing in float32 throughout, with its weights: under mixed precision the
    weights are float32 already, so only the arithmetic changes. For runtimes without bfloat16
    kernels (TFLite)."""
    copy = keras.Model.from_config(_float32_policies(model.get_config()))
    for layer in copy.layers:
        _copy_state(model.get_layer(layer.name), layer)
    return copy


def computes_in_float32(model: keras.Model) -> bool:
    return all(layer.compute_dtype == "float32" for layer in _all_layers(model))


def _all_layers(model: keras.Model) -> Iterator[layers.Layer]:
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
