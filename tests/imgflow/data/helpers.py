"""Helpers shared by the tests of imgflow/data/splitting.py and of the split stage
(tests/stages/test_split.py): resize's index table, balanced and imbalanced."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = [f"c{k}" for k in range(10)]


def synthetic_index(per_class: int = 40, classes: list[str] = CLASSES, split=None) -> pd.DataFrame:
    """resize's index table: row, path, label, split (rows interleaved across classes)."""
    labels = [classes[i % len(classes)] for i in range(per_class * len(classes))]
    return pd.DataFrame(
        {
            "row": np.arange(len(labels)),
            "path": [f"{label}/{i:04d}.png" for i, label in enumerate(labels)],
            "label": labels,
            "split": [split] * len(labels),
        }
    )


def imbalanced_index() -> pd.DataFrame:
    """Training-heavy classes of 30, 20 and 10 images, with a test split of their own."""
    labels = ["ant"] * 30 + ["bee"] * 20 + ["cat"] * 10 + ["ant", "bee", "cat"] * 4
    splits = ["train"] * 60 + ["test"] * 12
    return pd.DataFrame(
        {
            "row": np.arange(len(labels)),
            "path": [f"{i}.png" for i in range(len(labels))],
            "label": labels,
            "split": splits,
        }
    )
