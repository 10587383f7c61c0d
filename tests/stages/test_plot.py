"""stages/plot.py: main() writes each figure's PNG with its CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imgflow.common.errors import StageError
from stages.plot import main

PARAMS_YAML = Path(__file__).parents[2] / "params.yaml"


FIGURES = {
    "training_curves",
    "confusion_matrix",
    "confusion_matrix_normalised",
    "samples",
    "class_distribution",
    "misclassified",
    "confidently_wrong",
    "reliability",
    "class_errors",
}


def predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": ["a", "b", "c", "d"],
            "true_label": ["ant", "bee", "cat", "cat"],
            "predicted_label": ["ant", "ant", "ant", "cat"],
            "probability": [0.9, 0.55, 0.8, 0.7],
            "true_index": [0, 1, 2, 2],
            "predicted_index": [0, 0, 0, 2],
        }
    )


def write_inputs(tmp_path: Path, test_images: int = 4) -> list[str]:
    """split's folder, a 2-epoch DVCLive log and evaluate's predictions; main's arguments."""
    processed = tmp_path / "processed"
    processed.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", test_images)):
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
    return [str(processed), str(live), str(tmp_path / "predictions.parquet"), str(out)]


@pytest.fixture(scope="module")
def plotted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reports/plots from one main() run on the tiny inputs."""
    root = tmp_path_factory.mktemp("plot")
    main([*write_inputs(root), "--params", str(PARAMS_YAML)])
    return root / "plots"


def test_main_writes_every_figure_beside_its_data(plotted: Path) -> None:
    assert {p.stem for p in plotted.glob("*.png")} == FIGURES
    assert {p.stem for p in plotted.glob("*.csv")} == FIGURES
    assert all((plotted / f"{name}.png").stat().st_size > 1000 for name in FIGURES)


def test_galleries_show_true_label_prediction_and_probability(plotted: Path) -> None:
    confident = pd.read_csv(plotted / "confidently_wrong.csv")
    assert confident["path"].tolist() == ["c", "b"]  # 0.8 before 0.55
    assert {"true_label", "predicted_label", "probability"} <= set(confident.columns)
    assert len(pd.read_csv(plotted / "misclassified.csv")) == 2


def test_normalised_confusion_rows_are_shares(plotted: Path) -> None:
    shares = pd.read_csv(plotted / "confusion_matrix_normalised.csv", index_col=0)
    assert shares.loc["cat"].tolist() == pytest.approx([0.5, 0.0, 0.5])


def test_reliability_data_counts_every_test_image(plotted: Path) -> None:
    reliability = pd.read_csv(plotted / "reliability.csv")
    assert len(reliability) == 15 and reliability["images"].sum() == 4


def test_test_images_not_matching_the_predictions_are_refused(tmp_path: Path) -> None:
    arguments = write_inputs(tmp_path, test_images=3)
    with pytest.raises(StageError, match="holds 3 images but the predictions 4"):
        main([*arguments, "--params", str(PARAMS_YAML)])
