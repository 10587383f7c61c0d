"""Decode each usable image as validate did and fit it to the model's input size."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from imgflow.common.artifacts import atomic_npy
from imgflow.common.errors import StageError
from imgflow.common.parallel import map_chunks
from imgflow.data.imaging import PILLOW_MAX_PIXELS, ImageRejected, decode_bytes
from imgflow.params.resize import ResizeParams

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


def fit_to_size(image: Image.Image, params: ResizeParams) -> Image.Image:
    """Resize by the configured policy (Pillow's ImageOps does pad and crop)."""
    height, width = params.size
    if image.size == (width, height):
        return image
    method = RESAMPLE[params.resample]
    if params.policy == "pad":
        color = params.pad_color if image.mode == "RGB" else params.pad_color[0]
        return ImageOps.pad(image, (width, height), method=method, color=color)
    if params.policy == "center_crop":
        return ImageOps.fit(image, (width, height), method=method)
    return image.resize((width, height), method)


def to_array(image: Image.Image, params: ResizeParams) -> np.ndarray:
    """One decoded image as uint8 H x W x C in the configured mode and size."""
    height, width = params.size
    converted = image if image.mode == params.color_mode else image.convert(params.color_mode)
    resized = fit_to_size(converted, params)
    return np.asarray(resized, dtype=np.uint8).reshape(height, width, params.channels)


def grayscale_mask(images: np.ndarray, block: int = 512) -> np.ndarray:
    """True where every pixel has equal channels: a gray image, whatever mode stored it.

    A block of images at a time, comparing channel planes: faster than one broadcast comparison
    over the whole stack, which builds a stack-sized temporary.
    """
    if images.shape[-1] == 1:
        return np.ones(len(images), dtype=bool)
    mask = np.empty(len(images), dtype=bool)
    for start in range(0, len(images), block):
        pixels = images[start : start + block].reshape(-1, images[0].size // 3, 3)
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        mask[start : start + block] = ((red == green) & (green == blue)).all(axis=1)
    return mask


def keep_first_channel(path: Path, block: int = 4096) -> None:
    """Rewrite the RGB `.npy` stack at `path` as one channel, a block of images at a time: for
    gray images (equal channels) it is exactly what decoding them as L gives."""
    rgb = np.load(path, mmap_mode="r")
    with atomic_npy(path, (*rgb.shape[:3], 1), "uint8") as gray:
        for start in range(0, len(rgb), block):
            gray[start : start + block] = rgb[start : start + block, ..., :1]


def load_and_resize(
    item: tuple[str, bytes], params: ResizeParams, max_pixels: int = PILLOW_MAX_PIXELS
) -> np.ndarray:
    """Decode one (path, bytes) exactly as validate did (orientation, transparency, 16-bit),
    then resize."""
    path, content = item
    try:
        decoded = decode_bytes(content, max_pixels)
    except ImageRejected as exc:
        raise StageError(f"{path}: cannot decode ({exc}); was it changed after validate?") from exc
    height, width = params.size
    if decoded.mode == params.color_mode and decoded.pixels.shape[:2] == (height, width):
        return decoded.pixels.reshape(height, width, params.channels)  # as wanted: skip Pillow
    return to_array(decoded.image, params)


def resize_chunk(
    items: list[tuple[int, str, bytes]],
    params: ResizeParams,
    max_pixels: int = PILLOW_MAX_PIXELS,
    out_file: str | None = None,
) -> tuple[list[int], list[str], np.ndarray | None]:
    """The rows, paths and pixels of a run of (row, path, bytes) files. With `out_file` (a
    .npy file) the pixels are written into its rows instead, and not sent back."""
    rows, paths = [row for row, _, _ in items], [path for _, path, _ in items]
    pixels = np.stack(
        [load_and_resize((path, data), params, max_pixels) for _, path, data in items]
    )
    if out_file is None:
        return rows, paths, pixels
    np.load(out_file, mmap_mode="r+")[rows] = pixels  # unmapped on return; the OS writes it out
    return rows, paths, None


def resize_all(
    items: Iterable[tuple[str, bytes]],
    paths: list[str],
    params: ResizeParams,
    max_pixels: int = PILLOW_MAX_PIXELS,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Stack of the images at `paths`, in that order. `items` holds their (path, bytes) in any
    order (download's storage order) among other files (quarantined ones), which are skipped;
    it is streamed, never held in memory whole.

    `out`, if given, receives the stack and is returned. When it is a file-backed np.memmap
    (artifacts.atomic_npy), each worker process writes its images straight into the file,
    instead of sending the pixels back through pipes to be saved after
    (docs/decisions/resize-writes-in-place.md).
    """
    height, width = params.size
    shape = (len(paths), height, width, params.channels)
    if out is None:
        out = np.zeros(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ValueError(f"out: needs shape {shape} and uint8, got {out.shape} {out.dtype}")
    out_file = out.filename if isinstance(out, np.memmap) else None
    row_of = {path: row for row, path in enumerate(paths)}
    unseen = set(row_of)
    wanted = ((row_of[path], path, data) for path, data in items if path in row_of)
    resize = partial(resize_chunk, params=params, max_pixels=max_pixels, out_file=out_file)
    for rows, chunk_paths, pixels in map_chunks(resize, wanted, len(paths)):
        if pixels is not None:
            out[rows] = pixels
        unseen.difference_update(chunk_paths)
    if unseen:
        raise StageError(
            f"{len(unseen)} of the manifest's images are not in download's output, e.g. "
            f"{min(unseen)!r}; was data/raw changed after validate?"
        )
    return out


def valid_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest rows validate accepted, as the index of the image array."""
    index = manifest.loc[manifest["status"] == "ok", ["path", "label", "split", "sha256"]]
    return index.reset_index(drop=True).rename_axis("row").reset_index()
