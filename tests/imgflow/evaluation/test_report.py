"""imgflow/evaluation/report.py: the overfitting figures from history.json, and the summary."""

from __future__ import annotations

import pytest

from imgflow.common.errors import StageError
from imgflow.evaluation.report import overfitting, summary
from imgflow.evaluation.scoring import evaluate
from imgflow.params.evaluate import EvaluateParams
from tests.imgflow.evaluation.helpers import (
    CLASSES,
    FLIPPED,
    LABELS,
    PROBABILITIES,
    TRAINING,
    history_record,
    splits,
)


def test_overfitting_gaps_at_best_and_last_epoch() -> None:
    assert TRAINING["best_epoch"] == 2 and TRAINING["epochs_run"] == 3
    assert TRAINING["overfitting_gap"] == pytest.approx(0.8 - 0.75)
    assert TRAINING["final_overfitting_gap"] == pytest.approx(0.95 - 0.7)


@pytest.mark.parametrize("key", ["history", "best_epoch", "train_accuracy_at_best_epoch"])
def test_history_missing_a_key_names_the_file_and_key(key: str) -> None:
    record = history_record()
    del record[key]
    with pytest.raises(StageError, match=f"models/history.json: missing key '{key}'"):
        overfitting(record, "models/history.json")


def test_history_without_validation_accuracy_is_named() -> None:
    record = history_record(history={"accuracy": [0.5]})
    with pytest.raises(StageError, match="history: missing key 'val_accuracy'"):
        overfitting(record, "history.json")


def test_uneven_history_is_refused() -> None:
    record = history_record(history={"accuracy": [0.5, 0.6], "val_accuracy": [0.5]})
    with pytest.raises(StageError, match="got 2 and 1 epochs"):
        overfitting(record, "history.json")


def test_best_epoch_outside_the_history_is_refused() -> None:
    with pytest.raises(StageError, match=r"best_epoch 4 is outside 1\.\.3"):
        overfitting(history_record(best_epoch=4), "history.json")


def test_summary_names_accuracies_worst_class_pairs_and_gap() -> None:
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams())
    text = summary(result)
    assert "accuracy 0.7500, with flip TTA 0.7500" in text
    assert "cat (500 errors per 1,000, failing)" in text
    assert "ant <-> cat (1)" in text
    assert "+0.0500 at the best epoch (2 of 3)" in text
