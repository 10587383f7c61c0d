"""An image file's bytes as the model's input, prepared exactly as the training images were.

The same functions as validate and resize: `decode_bytes` (orientation, transparency, 16-bit
images, the JPEG checks), then `to_array` (colour mode, then the resize policy, filter and pad
colour), with the parameters the model file recorded (`imgflow.models.metadata`).
"""

from __future__ import annotations

import numpy as np

from imgflow.data.imaging import decode_bytes
from imgflow.data.resizing import to_array
from imgflow.models.metadata import ModelMetadata


def prepare(data: bytes, metadata: ModelMetadata) -> np.ndarray:
    """uint8 H x W x C pixels for the model; raises `ImageRejected` (with the decoder's reason)
    for a file that is not a usable image."""
    decoded = decode_bytes(data, metadata.max_image_pixels)
    return to_array(decoded.image, metadata.resize)
