"""Dataset statistics over the images validate accepted: counts, sizes, modes, channel stats.

Written to reports/data_stats.json as nested mappings of numbers only (no lists), so that
`dvc metrics diff` flattens them to keys like `count.train.cat` and shows each difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from imgflow.data.layout import ALL_SPLITS

CHANNELS = ("R", "G", "B")
_BLOCK_PIXELS = 1 << 20  # pixels converted to float64 at once: 24 MB for RGB
_STACK_PIXELS = 64 * 64  # images up to this size are summed stacked with others of their shape


def channel_sums(pixels: np.ndarray) -> tuple[float, ...]:
    """Per-channel sum and sum of squares (R, G, B, then R², G², B²) of uint8 RGB (H x W x 3)
    or grey (H x W) pixels.

    As float64 matrix products (a ones-vector product and the Gram matrix's diagonal): exact,
    since every partial sum of a block stays far below 2^53, and faster than a histogram for a
    small image. A big photo goes a block of rows at a time, so the float copy stays small.
    An L image counts as R = G = B = grey, what resize feeds an RGB model.
    """
    flat = pixels.reshape(-1, 3 if pixels.ndim == 3 else 1)
    sums = np.zeros(flat.shape[1])
    squares = np.zeros(flat.shape[1])
    for start in range(0, len(flat), _BLOCK_PIXELS):
        block = flat[start : start + _BLOCK_PIXELS].astype(np.float64)
        sums += np.ones(len(block)) @ block
        squares += (block.T @ block).diagonal()
    if flat.shape[1] == 1:
        sums, squares = np.repeat(sums, 3), np.repeat(squares, 3)
    return (*sums.tolist(), *squares.tolist())


def channel_sums_of_each(images: Sequence[np.ndarray | None]) -> np.ndarray:
    """channel_sums of every image, rows x 6 (zeros for None, a file that did not decode).

    Small images of one shape are stacked and summed in one pass: per image, numpy's call
    overhead is most of the cost of a 32x32 image's sums. The sums are ones-vector products
    (BLAS), faster than `sum(axis=1)` and einsum's strided reductions
    (docs/decisions/per-file-hot-paths.md).
    """
    sums = np.zeros((len(images), 6))
    rows_by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for row, pixels in enumerate(images):
        if pixels is None:
            continue
        if pixels.shape[0] * pixels.shape[1] > _STACK_PIXELS:
            sums[row] = channel_sums(pixels)
        else:
            rows_by_shape[pixels.shape].append(row)
    for shape, rows in rows_by_shape.items():
        channels = shape[2] if len(shape) == 3 else 1
        stack = np.stack([images[row] for row in rows]).reshape(len(rows), -1, channels)
        stack = stack.astype(np.float64)
        ones = np.ones(stack.shape[1])
        both = np.concatenate([ones @ stack, ones @ (stack * stack)], axis=1)
        sums[rows] = both if channels == 3 else np.repeat(both, 3, axis=1)
    return sums


def _summary(values: pd.Series) -> dict[str, float]:
    if values.empty:
        return {"min": 0, "median": 0.0, "mean": 0.0, "max": 0}
    return {
        "min": int(values.min()),
        "median": round(float(values.median()), 4),
        "mean": round(float(values.mean()), 4),
        "max": int(values.max()),
    }


def dataset_stats(usable: pd.DataFrame, sums: np.ndarray) -> dict[str, Any]:
    """Statistics of the usable manifest rows; `sums` holds their `channel_sums`, row by row.

    Channel mean and std are over every pixel of the original images (0..255 scale), so a large
    image weighs more than a small one; each image was decoded once, in validate's scan.
    """
    pixels = float((usable["width"] * usable["height"]).sum())
    totals = sums.sum(axis=0) if len(sums) else np.zeros(6)
    mean = totals[:3] / pixels if pixels else np.zeros(3)
    variance = totals[3:] / pixels - mean**2 if pixels else np.zeros(3)
    std = np.sqrt(np.clip(variance, 0, None))
    splits = usable["split"].fillna(ALL_SPLITS)
    counts: dict[str, dict[str, int]] = {}
    for (split, label), n in usable.groupby([splits, "label"]).size().items():
        counts.setdefault(str(split), {})[str(label)] = int(n)
    return {
        "images": len(usable),
        "classes": int(usable["label"].nunique()),
        "count": counts,
        "width": _summary(usable["width"]),
        "height": _summary(usable["height"]),
        "mode": {str(k): int(v) for k, v in usable["mode"].value_counts().sort_index().items()},
        "format": {str(k): int(v) for k, v in usable["format"].value_counts().sort_index().items()},
        "channel_mean": {c: round(float(m), 4) for c, m in zip(CHANNELS, mean, strict=True)},
        "channel_std": {c: round(float(s), 4) for c, s in zip(CHANNELS, std, strict=True)},
    }


def size_histogram(widths: pd.Series, heights: pd.Series, max_bins: int = 40) -> list[dict]:
    """Widths and heights counted in shared whole-pixel bins (the data behind the size plot)."""
    if widths.empty:
        return []
    low = int(min(widths.min(), heights.min()))
    high = int(max(widths.max(), heights.max()))
    step = max(1, -(-(high - low + 1) // max_bins))  # ceil: at most max_bins bins
    edges = np.arange(low, high + step + 1, step)
    width_counts, _ = np.histogram(widths, bins=edges)
    height_counts, _ = np.histogram(heights, bins=edges)
    return [
        {"bin_start": int(a), "bin_end": int(b) - 1, "width": int(w), "height": int(h)}
        for a, b, w, h in zip(edges[:-1], edges[1:], width_counts, height_counts, strict=True)
    ]
