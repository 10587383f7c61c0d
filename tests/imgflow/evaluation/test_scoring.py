"""imgflow/evaluation/scoring.py: scores on hand-checkable probabilities, the predictions table,
TTA, class grades and the coarse (hierarchy) accuracy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imgflow.common.errors import StageError
from imgflow.evaluation.scoring import (
    degeneracy,
    evaluate,
    predictions_table,
    read_coarse_groups,
    score,
)
from imgflow.params.evaluate import EvaluateParams
from tests.imgflow.evaluation.helpers import (
    CLASSES,
    FLIPPED,
    LABELS,
    PROBABILITIES,
    TRAINING,
    splits,
)


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


def test_top_k_and_calibration_error_are_scored() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES, top_k=2, calibration_bins=10)
    assert metrics["top_k"] == 2
    assert metrics["top_k_accuracy"] == pytest.approx(0.75)  # the missed cat is last choice
    # bins: 0.6 wrong alone; 0.7 right alone; 0.8 twice, right
    assert metrics["ece"] == pytest.approx((0.6 + 0.3 + 2 * 0.2) / 4)


def test_top_k_not_below_the_class_count_is_null() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES, top_k=5)
    assert metrics["top_k_accuracy"] is None


def test_text_report_has_four_decimals_and_class_names() -> None:
    _, text = score(LABELS, PROBABILITIES, CLASSES)
    assert "ant" in text and "0.7500" in text


def test_loss_stays_finite_for_a_certain_wrong_prediction() -> None:
    metrics, _ = score(np.array([0]), np.array([[0.0, 1.0, 0.0]]), CLASSES)
    assert math.isfinite(metrics["loss"])


def test_empty_test_split_is_refused() -> None:
    with pytest.raises(StageError, match="test split is empty"):
        score(np.zeros(0, np.int64), np.zeros((0, 3)), CLASSES)


def test_label_outside_the_classes_is_refused() -> None:
    with pytest.raises(StageError, match=r"test labels must lie in 0\.\.2"):
        score(np.array([0, 1, 2, 3]), PROBABILITIES, CLASSES)


def test_model_with_other_class_count_is_refused() -> None:
    with pytest.raises(StageError, match="retrain on these classes"):
        score(LABELS, PROBABILITIES[:, :2], CLASSES)


def test_predictions_table_lines_up_with_the_test_rows() -> None:
    table = predictions_table(splits(), PROBABILITIES, CLASSES)
    assert list(table["path"]) == ["bee/1.png", "bee/3.png", "cat/4.png", "cat/5.png"]
    assert list(table["predicted_label"]) == ["ant", "bee", "ant", "cat"]
    assert table["probability"].tolist() == pytest.approx([0.8, 0.7, 0.6, 0.8])
    assert table["true_probability"].tolist() == pytest.approx([0.1, 0.7, 0.1, 0.8])


def test_predictions_table_refuses_a_test_count_mismatch() -> None:
    with pytest.raises(StageError, match="splits.parquet lists 4 test images"):
        predictions_table(splits(), PROBABILITIES[:3], CLASSES)


def test_tta_none_reports_no_tta_figure() -> None:
    result = evaluate(LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, EvaluateParams())
    assert result.metrics["accuracy"] == pytest.approx(0.75)
    assert not [key for key in result.metrics if "tta" in key]
    assert list(result.predictions["predicted_label"]) == ["ant", "bee", "ant", "cat"]


def test_tta_none_ignores_flipped_predictions_it_is_given() -> None:
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams())
    assert "accuracy_tta_flip" not in result.metrics


def test_tta_flip_reports_the_flip_figure_only() -> None:
    params = EvaluateParams(tta="flip")
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)
    assert result.metrics["accuracy_tta_flip"] == pytest.approx(0.75)
    assert "accuracy_tta_flip_translate" not in result.metrics


def test_tta_flip_without_its_predictions_is_refused() -> None:
    params = EvaluateParams(tta="flip")
    with pytest.raises(StageError, match="evaluate.tta: flip needs its predictions"):
        evaluate(LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, params)


def test_tta_flip_feeds_the_flipped_predictions_to_the_tables() -> None:
    params = EvaluateParams(tta="flip")
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)
    assert list(result.predictions["predicted_label"]) == ["bee", "bee", "cat", "cat"]
    assert result.per_class["ant"]["recall"] == 0.0
    assert result.class_errors["errors"].tolist() == [1, 0, 0]


def test_tta_flip_translate_feeds_its_predictions_and_adds_its_accuracy() -> None:
    params = EvaluateParams(tta="flip_translate")
    result = evaluate(
        LABELS, PROBABILITIES, PROBABILITIES, CLASSES, splits(), TRAINING, params, None, FLIPPED
    )
    assert list(result.predictions["predicted_label"]) == ["bee", "bee", "cat", "cat"]
    assert result.metrics["accuracy_tta_flip_translate"] == pytest.approx(0.75)
    assert result.metrics["accuracy_tta_flip"] == pytest.approx(0.75)


def test_tta_flip_translate_without_its_predictions_is_refused() -> None:
    params = EvaluateParams(tta="flip_translate")
    with pytest.raises(StageError, match="evaluate.tta: flip_translate"):
        evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)


def test_evaluation_grades_classes_and_lists_confused_pairs() -> None:
    result = evaluate(LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, EvaluateParams())
    # ant misses nothing but half its predictions are wrong (the cat): failing by precision
    assert result.class_errors["grade"].tolist() == ["failing", "acceptable", "failing"]
    assert result.metrics["class_grades"]["failing"] == 2
    assert result.confused_pairs[["class_a", "class_b", "total"]].values.tolist() == [
        ["ant", "cat", 1]
    ]
    assert result.metrics["overfitting_gap"] == TRAINING["overfitting_gap"]
    assert "coarse_accuracy" not in result.metrics


def test_per_class_figures_leave_metrics_for_their_own_file() -> None:
    result = evaluate(LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, EvaluateParams())
    assert "per_class" not in result.metrics
    assert list(result.per_class) == CLASSES
    assert result.per_class["cat"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
        "errors_per_1000": 500.0,
        "grade": "failing",
    }


def test_a_class_without_test_images_has_null_errors_per_1000() -> None:
    labels, probabilities = LABELS[:2], PROBABILITIES[:2]  # no cat
    test_rows = splits().iloc[:4]
    result = evaluate(labels, probabilities, None, CLASSES, test_rows, TRAINING, EvaluateParams())
    assert result.per_class["cat"]["errors_per_1000"] is None
    assert result.per_class["cat"]["grade"] == "untested"


# One class predicted for every image, by a model that learned nothing.
ALWAYS_ANT = np.tile([0.5, 0.3, 0.2], (4, 1))


def test_a_model_predicting_one_class_is_flagged_with_the_baseline() -> None:
    result = evaluate(LABELS, ALWAYS_ANT, None, CLASSES, splits(), TRAINING, EvaluateParams())
    assert result.metrics["degenerate"] is True
    assert result.metrics["majority_baseline"] == pytest.approx(0.5)  # 2 of 4 are cats
    assert (
        "predicts 'ant' for 100% of the test images (25% are 'ant')"
        in (result.metrics["degenerate_reason"])
    )


def test_a_model_not_above_the_majority_rate_is_flagged() -> None:
    # right on the ant and one cat, wrong on the rest: 2 of 4, the cats' share
    probabilities = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 0, 1]], dtype=float)
    metrics = evaluate(
        LABELS, probabilities, None, CLASSES, splits(), TRAINING, EvaluateParams()
    ).metrics
    assert metrics["degenerate"] is True
    assert metrics["degenerate_reason"] == (
        "accuracy 0.5000 is not above the majority-class rate 0.5000"
    )


def test_a_model_above_the_baseline_is_not_flagged() -> None:
    metrics = evaluate(
        LABELS, PROBABILITIES, None, CLASSES, splits(), TRAINING, EvaluateParams()
    ).metrics
    assert (metrics["degenerate"], metrics["degenerate_reason"]) == (False, None)


def test_predicting_mostly_the_class_the_test_set_mostly_holds_is_not_flagged() -> None:
    labels = np.array([0] * 9 + [1])
    predicted = np.array([0] * 10)
    predicted[9] = 1  # all right: 90% ant predicted, 90% are ant
    assert degeneracy(labels, predicted, CLASSES)["degenerate"] is False


def test_coarse_accuracy_is_added_with_a_hierarchy() -> None:
    groups = np.array([0, 0, 1])  # ant and bee are insects, cat is not
    result = evaluate(
        LABELS, FLIPPED, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams(), groups
    )
    # the ant predicted as bee counts at the coarse level
    assert result.metrics["accuracy"] == pytest.approx(0.75)
    assert result.metrics["coarse_accuracy"] == pytest.approx(1.0)


def test_hierarchy_file_is_optional(tmp_path: Path) -> None:
    assert read_coarse_groups(tmp_path / "hierarchy.json", CLASSES) is None


def test_hierarchy_file_must_map_names_to_names(tmp_path: Path) -> None:
    path = tmp_path / "hierarchy.json"
    path.write_text('{"ant": 1}')
    with pytest.raises(StageError, match="hierarchy.json: expected a JSON object"):
        read_coarse_groups(path, CLASSES)
