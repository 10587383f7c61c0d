"""Training-time augmentation as layers inside the model: active in `fit`, identity at inference.

Both layers are registered with Keras, so a model saved by plain `Model.save` loads without
`custom_objects` once imgflow is imported. The model `train` saves has neither: at inference
they pass images through unchanged, so they are saved as `Identity` (imgflow/models/portable.py).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="imgflow")
class Cutout(layers.Layer):
    """Blacks out one random `size` x `size` square per image, wholly inside it (DeVries and
    Taylor, 2017): the model cannot lean on any single region."""

    def __init__(self, size: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training or self.size == 0:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        size = min(self.size, height, width)
        top = keras.random.randint((batch, 1, 1, 1), 0, height - size + 1, seed=self.seed_generator)
        left = keras.random.randint((batch, 1, 1, 1), 0, width - size + 1, seed=self.seed_generator)
        rows = ops.reshape(ops.arange(height), (1, height, 1, 1))
        cols = ops.reshape(ops.arange(width), (1, 1, width, 1))
        inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
        return images * ops.cast(ops.logical_not(inside), images.dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "seed": self.seed}


@keras.saving.register_keras_serializable(package="imgflow")
class Augmentation(layers.Layer):
    """Flip, translate and cutout in one switchable block. `active` is read when `fit` traces the
    graph, so the fine-tuning phase can turn augmentation on by setting it and recompiling."""

    def __init__(
        self,
        image_size: tuple[int, int],
        flip: bool = False,
        translate: int = 0,
        translate_fill: str = "reflect",
        cutout: int = 0,
        active: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_size = tuple(image_size)
        self.flip, self.translate, self.translate_fill = flip, translate, translate_fill
        self.cutout, self.active = cutout, active
        self.steps: list[layers.Layer] = []
        if flip:
            self.steps.append(layers.RandomFlip("horizontal", dtype=self.dtype_policy))
        if translate:
            height, width = self.image_size
            # nearest: whole-pixel shifts, no blur from interpolating between pixels
            self.steps.append(
                layers.RandomTranslation(
                    translate / height,
                    translate / width,
                    fill_mode=translate_fill,
                    interpolation="nearest",
                    dtype=self.dtype_policy,
                )
            )
        if cutout:
            self.steps.append(Cutout(cutout, dtype=self.dtype_policy))

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        for step in self.steps:
            step.build(input_shape)
        super().build(input_shape)

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not (training and self.active):
            return images
        for step in self.steps:
            images = step(images, training=True)
        return images

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "flip": self.flip,
            "translate": self.translate,
            "translate_fill": self.translate_fill,
            "cutout": self.cutout,
            "active": self.active,
        }
