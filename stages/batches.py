"""Arrays to Keras as a tf.data pipeline of batches, for `fit` and `predict`.

Not `fit(x=array)` / `predict(array)`: with Keras' array adapter the first step of every epoch
waited, 4.5 s instead of 0.4 s for 10,240 CIFAR images on 2 cores (its pipeline holds the
whole array; the exact cost inside it was not traced). Here the arrays become tensors once and
each batch is gathered from them by index.

tf.data's autotuning is off, with fixed buffers instead. Keras makes a new iterator every
epoch, and destroying the old one waited for one of tf.data's background threads: py-spy
showed the main thread in `~IteratorResource` -> `~LogicalThreadWrapper`, both cores idle,
for up to 54 s at the start of an epoch of `fast` on CIFAR-10, and again after the last one.
(The autotuner sleeps between its rounds for a period that doubles up to 60 s.) With autotuning
off, four full epochs ran 84-89 s each with no wait; with it, one epoch in three took 140 s.
A batch is a gather of 256 small images, so there is nothing for the autotuner to tune.
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
