"""imgflow/models/transfer.py: a local weights file, the offline way to start from ImageNet."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from imgflow.models.parts import ModelOptions
from imgflow.models.transfer import BACKBONE, transfer
from imgflow.params.train import TransferParams


def test_a_local_weights_file_saved_as_the_readme_says_starts_the_backbone(
    tmp_path: Path,
) -> None:
    # What the README's command writes on a machine that can download the ImageNet weights,
    # here from a backbone of the same shape with its own random start.
    source = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )
    rng = np.random.default_rng(0)  # values no fresh backbone starts from
    source.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in source.get_weights()])
    weights = tmp_path / "mobilenet_v2_32.weights.h5"
    source.save_weights(weights)
    options = ModelOptions(transfer=TransferParams(weights=str(weights), alpha=0.35, input_size=32))
    model = transfer((32, 32, 3), 2, options)
    loaded = model.get_layer(BACKBONE).get_weights()
    assert len(loaded) == len(source.get_weights())
    for got, want in zip(loaded, source.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
