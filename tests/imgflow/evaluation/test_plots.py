"""imgflow/evaluation/plots.py: the tables behind the figures, and a missing training log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imgflow.common.errors import StageError
from imgflow.evaluation.plots import class_distribution, read_curves, sample_picks

CLASSES = ["ant", "bee", "cat"]


def test_class_distribution_counts_each_split() -> None:
    splits = pd.DataFrame(
        {"label": ["ant", "ant", "bee", "cat"], "split": ["train", "test", "train", "val"]}
    )
    table = class_distribution(splits, CLASSES)
    assert list(table.columns) == ["train", "val", "test"]
    assert table.loc["ant", "train"] == 1 and table.loc["bee", "test"] == 0


def test_sample_picks_take_the_first_images_of_each_class() -> None:
    picks = sample_picks(np.array([2, 0, 2, 2, 0]), CLASSES, per_class=2)
    assert picks.values.tolist() == [["ant", 0, 1], ["ant", 1, 4], ["cat", 0, 0], ["cat", 1, 2]]


def test_missing_training_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="accuracy.tsv"):
        read_curves(tmp_path)
