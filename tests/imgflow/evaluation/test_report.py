"""imgflow/evaluation/report.py: the overfitting figures from history.json, and the summary."""

from __future__ import annotations

import numpy as np
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
    params = EvaluateParams(tta="flip")
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)
    text = summary(result)
    assert "accuracy 0.7500, with flip TTA 0.7500 (the tables use tta=flip)" in text
    assert "majority-class rate 0.5000" in text
    assert "ant (1000 errors per 1,000, precision 0.00, failing)" in text
    assert "ant <-> bee (1)" in text
    assert "+0.0500 at the best epoch (2 of 3)" in text
    assert "DEGENERATE" not in text


def test_summary_prints_no_tta_figure_for_tta_none() -> None:
    result = evaluate(LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, EvaluateParams())
    assert "TTA" not in summary(result)


def test_summary_warns_loudly_of_a_degenerate_model() -> None:
    always_ant = np.tile([0.5, 0.3, 0.2], (4, 1))
    result = evaluate(LABELS, always_ant, None, CLASSES, splits(), TRAINING, EvaluateParams())
    second_line = summary(result).splitlines()[1]
    assert second_line.startswith("  WARNING: DEGENERATE MODEL: predicts 'ant' for 100%")
