"""Arrays to Keras as a tf.data pipeline of batches, for `fit` and `predict`.

Not `fit(x=array)` / `predict(array)`: with Keras' array adapter the first step of every epoch
waits. Here the arrays become tensors once and each batch is gathered from them by index.

tf.data's autotuning is off, with fixed buffers instead: Keras makes a new iterator every
epoch, and destroying the old one can stall on one of the autotuner's background threads. A
batch is a gather of small images, so there is nothing for the autotuner to tune
(docs/decisions/tfdata-batches.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def batches(
    images: np.ndarray,
    batch_size: int,
    targets: np.ndarray | None = None,
    shuffle_seed: int | None = None,
) -> Any:
    """Batches of `images` (with their `targets`, if given) in order, or in a new order every
    epoch when `shuffle_seed` is given: the same orders for the same seed."""
    import tensorflow as tf

    image_tensor = tf.convert_to_tensor(images)
    target_tensor = None if targets is None else tf.convert_to_tensor(targets)

    def gather(index: Any) -> Any:
        batch = tf.gather(image_tensor, index)
        return batch if target_tensor is None else (batch, tf.gather(target_tensor, index))

    order = tf.data.Dataset.range(len(images))
    if shuffle_seed is not None:
        order = order.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    # Two batches ready: one for the step that runs, one gathered meanwhile.
    return order.batch(batch_size).map(gather).prefetch(2).with_options(options)
