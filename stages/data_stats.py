"""Dataset statistics over the images validate accepted: counts, sizes, modes, channel stats.

Written to reports/data_stats.json as nested mappings of numbers only (no lists), so that
`dvc metrics diff` flattens them to keys like `count.train.cat` and shows each difference.
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from stages.download import ALL_SPLITS

CHANNELS = ("R", "G", "B")
_LEVELS = np.arange(256, dtype=np.int64)
_LEVELS_AND_SQUARES = np.stack([_LEVELS, _LEVELS**2], axis=1)


def channel_sums(image: Image.Image) -> tuple[float, ...]:
    """Per-channel sum and sum of squares (R, G, B, then R², G², B²) of an RGB or L image.

    Computed from Pillow's 256-bin histogram: exact (int64 holds 255² x 2^36 pixels), and no
    pixel-sized temporary array even for a huge photo. array.array converts the histogram list
    in C, 12 us faster per image than numpy. An L image counts as R = G = B = grey, what resize
    feeds an RGB model.
    """
    hist = np.frombuffer(array.array("q", image.histogram()), dtype=np.int64).reshape(-1, 256)
    sums = (hist @ _LEVELS_AND_SQUARES).astype(np.float64)  # channels x (sum, sum of squares)
    if len(sums) == 1:
        sums = np.repeat(sums, 3, axis=0)
    return (*sums[:, 0].tolist(), *sums[:, 1].tolist())


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
