"""imgflow/evaluation/error_analysis.py on a 3-class toy test set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imgflow.evaluation.error_analysis import (
    class_errors,
    confidently_wrong,
    confused_pairs,
    confusion_table,
    grade_counts,
    spread_sample,
    worst_classes,
)
from imgflow.params.evaluate import ErrorGrades

CLASSES = ["ant", "bee", "cat"]
# ant: 4 right; bee: 2 right, 2 as cat; cat: 3 right, 1 as bee
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
PREDICTED = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 1])


def test_confusion_counts_rows_are_true_classes() -> None:
    counts = confusion_table(LABELS, PREDICTED, CLASSES)
    assert counts.loc["bee", "cat"] == 2 and counts.loc["cat", "bee"] == 1
    assert counts.to_numpy().sum() == len(LABELS)


def test_normalised_confusion_rows_sum_to_one_and_empty_rows_to_zero() -> None:
    shares = confusion_table(np.array([0, 0, 1]), np.array([0, 1, 1]), CLASSES, normalise=True)
    assert shares.loc["ant"].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert shares.loc["cat"].tolist() == [0.0, 0.0, 0.0]  # no cat in the test set


def test_confused_pairs_add_both_directions_most_first() -> None:
    pairs = confused_pairs(confusion_table(LABELS, PREDICTED, CLASSES), limit=5)
    assert len(pairs) == 1  # ant is never confused
    pair = pairs.iloc[0]
    assert (pair["class_a"], pair["class_b"]) == ("bee", "cat")
    assert (pair["a_predicted_as_b"], pair["b_predicted_as_a"], pair["total"]) == (2, 1, 3)


def test_confused_pairs_keep_only_the_limit() -> None:
    labels, predicted = np.array([0, 0, 1, 2, 2, 2]), np.array([1, 1, 0, 0, 1, 1])
    pairs = confused_pairs(confusion_table(labels, predicted, CLASSES), limit=2)
    assert pairs["total"].tolist() == [3, 2]  # ant-bee 3, bee-cat 2; ant-cat 1 left out


def test_class_errors_graded_against_the_limits() -> None:
    # misses: 10, 40 and 60 per 1,000; each miss lands where it keeps the precision grades
    # the same (ant 20 wrong of 1,010 predictions, bee 40 of 1,000)
    labels = np.repeat([0, 1, 2], 1000)
    predicted = labels.copy()
    predicted[0:10] = 2
    predicted[1000:1040] = 2
    predicted[2000:2020] = 0
    predicted[2020:2060] = 1
    errors = class_errors(confusion_table(labels, predicted, CLASSES), ErrorGrades())
    assert errors["errors_per_1000"].tolist() == pytest.approx([10, 40, 60])
    assert errors["grade"].tolist() == ["acceptable", "needs_work", "failing"]
    assert errors["support"].tolist() == [1000, 1000, 1000]


def test_a_class_predicted_for_everything_fails_by_its_precision() -> None:
    labels = np.repeat([0, 1, 2], 10)
    errors = class_errors(confusion_table(labels, np.zeros(30, np.int64), CLASSES), ErrorGrades())
    ant = errors.iloc[0]
    assert (ant["errors"], ant["predicted"]) == (0, 30)
    assert ant["precision"] == pytest.approx(1 / 3)
    assert ant["grade"] == "failing"


def test_precision_below_the_acceptable_limit_lowers_a_grade_to_needs_work() -> None:
    # ant: no misses, but 4 of its 104 predictions are wrong (38 per 1,000, precision 0.96)
    labels = np.repeat([0, 1, 2], 100)
    predicted = labels.copy()
    predicted[100:104] = 0
    errors = class_errors(confusion_table(labels, predicted, CLASSES), ErrorGrades())
    assert errors.loc[0, "errors"] == 0
    assert errors.loc[0, "grade"] == "needs_work"


def test_a_class_never_predicted_has_precision_0_and_is_graded_by_its_misses() -> None:
    # ant's one image missed, ant never predicted: failing by misses, nothing else to count
    errors = class_errors(
        confusion_table(np.array([0, 1]), np.array([1, 1]), CLASSES), ErrorGrades()
    )
    assert errors.loc[0, "predicted"] == 0 and errors.loc[0, "precision"] == 0.0
    assert errors.loc[0, "errors_per_1000"] == 1000 and errors.loc[0, "grade"] == "failing"


def test_a_limit_itself_earns_the_better_grade() -> None:
    labels, predicted = np.zeros(100, np.int64), np.zeros(100, np.int64)
    predicted[:3] = 1  # exactly 30/1000
    errors = class_errors(confusion_table(labels, predicted, CLASSES), ErrorGrades())
    assert errors.loc[0, "grade"] == "acceptable"


def test_class_without_test_images_is_untested_and_every_grade_is_counted() -> None:
    errors = class_errors(confusion_table(LABELS[:4], PREDICTED[:4], CLASSES), ErrorGrades())
    assert errors["grade"].tolist() == ["acceptable", "untested", "untested"]
    assert grade_counts(errors) == {"acceptable": 1, "needs_work": 0, "failing": 0, "untested": 2}


def test_worst_classes_put_a_class_failing_by_precision_before_more_errors() -> None:
    errors = pd.DataFrame(
        {
            "class": CLASSES,
            # bee's 4 misses and cat's 1 predicted as ant: ant 5 wrong of 55 predictions
            "support": [50, 100, 100],
            "errors": [0, 4, 1],
            "errors_per_1000": [0.0, 40.0, 10.0],
            "predicted": [55, 96, 99],
            "precision": [50 / 55, 1.0, 1.0],
            "grade": ["failing", "needs_work", "acceptable"],
        }
    )
    assert worst_classes(errors, limit=2)["class"].tolist() == ["ant", "bee"]


def predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "true_index": [0, 1, 2, 2, 1],
            "predicted_index": [0, 0, 0, 2, 2],
            "probability": [0.9, 0.55, 0.8, 0.7, 0.8],
        }
    )


def test_confidently_wrong_is_highest_probability_first_with_test_position() -> None:
    wrong = confidently_wrong(predictions(), limit=2)
    assert wrong["position"].tolist() == [2, 4]  # 0.8 twice: test order breaks the tie


def test_spread_sample_takes_misses_evenly_through_the_test_set() -> None:
    table = pd.DataFrame({"true_index": np.ones(10, int), "predicted_index": np.zeros(10, int)})
    assert spread_sample(table, limit=3)["position"].tolist() == [0, 4, 9]
    assert len(spread_sample(table, limit=50)) == 10
