"""The top classes of each prediction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranked:
    path: str
    top: tuple[tuple[str, float], ...]  # (class, probability), most probable first


def top_k(
    paths: Sequence[str], probabilities: np.ndarray, classes: Sequence[str], k: int
) -> list[Ranked]:
    """The `k` most probable classes per row of `probabilities` (N x classes); all classes when
    there are fewer. Ties keep label order, so the same input always prints the same."""
    if k < 1:
        raise ValueError(f"k: expected at least 1, got {k}")
    if probabilities.ndim != 2 or probabilities.shape != (len(paths), len(classes)):
        raise ValueError(
            f"probabilities: expected shape ({len(paths)}, {len(classes)}), "
            f"got {probabilities.shape}"
        )
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        Ranked(path, tuple((classes[i], float(row[i])) for i in best))
        for path, row, best in zip(paths, probabilities, order, strict=True)
    ]
