from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.errors import StageError
from stages.plot import (
    class_distribution,
    confusion_counts,
    main,
    most_confident_misses,
    read_curves,
)

CLASSES = ["ant", "bee", "cat"]


def predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": ["a", "b", "c", "d"],
            "true_label": ["ant", "bee", "cat", "cat"],
            "predicted_label": ["ant", "ant", "ant", "cat"],
            "probability": [0.9, 0.55, 0.8, 0.7],
        }
    )


def test_confusion_counts_is_square_over_every_class() -> None:
    counts = confusion_counts(predictions(), CLASSES)
    assert counts.shape == (3, 3)
    assert counts.loc["cat", "ant"] == 1 and counts.loc["bee", "bee"] == 0
    assert counts.to_numpy().sum() == 4


def test_class_distribution_counts_each_split() -> None:
    splits = pd.DataFrame(
        {"label": ["ant", "ant", "bee", "cat"], "split": ["train", "test", "train", "val"]}
    )
    table = class_distribution(splits, CLASSES)
    assert list(table.columns) == ["train", "val", "test"]
    assert table.loc["ant", "train"] == 1 and table.loc["bee", "test"] == 0


def test_misses_are_sorted_most_confident_first_with_their_test_position() -> None:
    misses = most_confident_misses(predictions(), limit=5)
    assert list(misses["path"]) == ["c", "b"]
    assert list(misses["position"]) == [2, 1]


def test_missing_training_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="accuracy.tsv"):
        read_curves(tmp_path)


def test_main_writes_every_figure_and_its_data(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    processed.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        np.save(processed / f"{split}_images.npy", rng.integers(0, 255, (n, 8, 8, 3), np.uint8))
    np.save(processed / "train_labels.npy", np.array([0, 1, 2, 0, 1, 2]))
    (processed / "classes.json").write_text('["ant", "bee", "cat"]')
    pd.DataFrame(
        {
            "row": range(10),
            "path": list("abcdefghij"),
            "label": ["ant", "bee", "cat"] * 3 + ["ant"],
            "label_index": [0, 1, 2] * 3 + [0],
            "split": ["train"] * 6 + ["test"] * 4,
        }
    ).to_parquet(processed / "splits.parquet")
    live = tmp_path / "train"
    for phase in ("train", "eval"):
        for metric in ("accuracy", "loss"):
            path = live / "plots" / "metrics" / phase / f"{metric}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"step\t{metric}\n0\t0.5\n1\t0.7\n")
    predictions().to_parquet(tmp_path / "predictions.parquet")
    out = tmp_path / "plots"
    main(
        [
            str(processed),
            str(live),
            str(tmp_path / "predictions.parquet"),
            str(out),
            "--params",
            str(Path(__file__).parents[2] / "params.yaml"),
        ]
    )
    pngs = {p.name for p in out.glob("*.png")}
    assert pngs == {
        "training_curves.png",
        "confusion_matrix.png",
        "samples.png",
        "class_distribution.png",
        "misclassified.png",
    }
    assert all((out / name).stat().st_size > 1000 for name in pngs)
    assert len(pd.read_csv(out / "misclassified.csv")) == 2
