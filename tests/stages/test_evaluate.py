import math

import numpy as np
import pandas as pd
import pytest

from stages.errors import StageError
from stages.evaluate import predictions_table, score

CLASSES = ["ant", "bee", "cat"]
PROBABILITIES = np.array(
    [
        [0.8, 0.1, 0.1],  # ant, right
        [0.2, 0.7, 0.1],  # bee, right
        [0.6, 0.3, 0.1],  # cat, predicted ant
        [0.1, 0.1, 0.8],  # cat, right
    ]
)
LABELS = np.array([0, 1, 2, 2])


def test_accuracy_and_loss_follow_the_probabilities() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES)
    assert metrics["accuracy"] == pytest.approx(0.75)
    expected_loss = -np.mean(np.log([0.8, 0.7, 0.1, 0.8]))
    assert metrics["loss"] == pytest.approx(expected_loss)


def test_per_class_metrics_are_keyed_by_class_name() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES)
    assert list(metrics["per_class"]) == CLASSES
    ant = metrics["per_class"]["ant"]
    assert ant["precision"] == pytest.approx(0.5)  # one of two "ant" predictions is right
    assert ant["recall"] == pytest.approx(1.0)
    assert metrics["per_class"]["cat"]["support"] == 2
    assert metrics["f1_macro"] == pytest.approx(
        np.mean([metrics["per_class"][c]["f1"] for c in CLASSES])
    )


def test_text_report_has_four_decimals_and_class_names() -> None:
    _, text = score(LABELS, PROBABILITIES, CLASSES)
    assert "ant" in text and "0.7500" in text


def test_loss_stays_finite_for_a_certain_wrong_prediction() -> None:
    metrics, _ = score(np.array([0]), np.array([[0.0, 1.0, 0.0]]), CLASSES)
    assert math.isfinite(metrics["loss"])


def test_empty_test_split_is_refused() -> None:
    with pytest.raises(StageError, match="test split is empty"):
        score(np.zeros(0, np.int64), np.zeros((0, 3)), CLASSES)


def test_predictions_table_lines_up_with_the_test_rows() -> None:
    splits = pd.DataFrame(
        {
            "row": range(6),
            "path": [
                f"{c}/{i}.png" for i, c in enumerate(["ant", "bee", "ant", "bee", "cat", "cat"])
            ],
            "label": ["ant", "bee", "ant", "bee", "cat", "cat"],
            "label_index": [0, 1, 0, 1, 2, 2],
            "split": ["train", "test", "train", "test", "test", "test"],
        }
    )
    table = predictions_table(splits, PROBABILITIES, CLASSES)
    assert list(table["path"]) == ["bee/1.png", "bee/3.png", "cat/4.png", "cat/5.png"]
    assert list(table["predicted_label"]) == ["ant", "bee", "ant", "cat"]
    assert table["probability"].tolist() == pytest.approx([0.8, 0.7, 0.6, 0.8])
