"""imgflow/models/augment.py: augmentation changes training images only; cutout blacks a square."""

from __future__ import annotations

import keras
import numpy as np

from imgflow.models.augment import Augmentation, Cutout

IMAGES = np.ones((4, 16, 16, 3), dtype=np.float32)


def test_cutout_zeroes_one_square_of_the_given_side_per_image() -> None:
    out = keras.ops.convert_to_numpy(Cutout(5, seed=1)(IMAGES, training=True))
    for image in out:
        rows, cols = np.nonzero(image[..., 0] == 0)
        assert len(rows) == 25 and np.ptp(rows) == 4 and np.ptp(cols) == 4
        assert np.all(image[rows, cols] == 0)  # every channel of the patch


def test_cutout_does_nothing_at_inference() -> None:
    np.testing.assert_array_equal(Cutout(5)(IMAGES, training=False), IMAGES)


def test_augmentation_changes_training_images_but_not_inference() -> None:
    images = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    layer = Augmentation((16, 16), flip=True, translate=3)
    assert not np.allclose(keras.ops.convert_to_numpy(layer(images, training=True)), images)
    np.testing.assert_array_equal(layer(images, training=False), images)


def test_inactive_augmentation_passes_training_images_through() -> None:
    images = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    layer = Augmentation((16, 16), flip=True, translate=3, cutout=4, active=False)
    np.testing.assert_array_equal(layer(images, training=True), images)


def test_augmentation_config_round_trips() -> None:
    layer = Augmentation((16, 16), flip=True, translate=2, translate_fill="constant", cutout=4)
    copy = Augmentation.from_config(layer.get_config())
    assert copy.get_config() == layer.get_config() and len(copy.steps) == 3
