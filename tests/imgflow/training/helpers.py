"""Helpers shared by the tests of imgflow/training and of the train stage
(tests/stages/test_train.py): a toy two-class problem and small training params."""

from __future__ import annotations

import numpy as np

from imgflow.params.train import TrainParams


def toy_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes a model can tell apart: dark images vs bright images."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, size=(n, 8, 8, 1)) + labels[:, None, None, None] * 190
    return images.astype(np.uint8), labels.astype(np.int64)


def small(**overrides: object) -> TrainParams:
    """A short run without augmentation (auto would add flips and shifts, noise on toy data):
    the tests that want augmentation set it."""
    no_augmentation = {"flip": False, "translate": 0}
    return TrainParams(
        **{
            "model": "mlp",
            "epochs": 2,
            "batch_size": 16,
            **overrides,
            "augmentation": {**no_augmentation, **dict(overrides.get("augmentation") or {})},
        }
    )
