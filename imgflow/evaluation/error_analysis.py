"""Where the model goes wrong: confusion tables, most-confused pairs, graded per-class errors,
most confidently wrong predictions. Inputs are class indices; outputs are tables by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from imgflow.params.evaluate import ErrorGrades

GRADES = ("acceptable", "needs_work", "failing", "untested")


def confusion_table(
    labels: np.ndarray, predicted: np.ndarray, classes: list[str], normalise: bool = False
) -> pd.DataFrame:
    """Rows true class, columns predicted class: counts, or shares of each true class
    (`normalise`; a class without test images has a row of zeros)."""
    matrix = confusion_matrix(
        labels, predicted, labels=np.arange(len(classes)), normalize="true" if normalise else None
    )
    table = pd.DataFrame(matrix, index=classes, columns=classes)
    table.index.name, table.columns.name = "true", "predicted"
    return table


def confused_pairs(counts: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The `limit` class pairs with most mix-ups, both directions added, most first."""
    matrix = counts.to_numpy()
    upper_a, upper_b = np.triu_indices(len(matrix), k=1)
    pairs = pd.DataFrame(
        {
            "class_a": counts.index[upper_a],
            "class_b": counts.index[upper_b],
            "a_predicted_as_b": matrix[upper_a, upper_b],
            "b_predicted_as_a": matrix[upper_b, upper_a],
        }
    )
    pairs["total"] = pairs["a_predicted_as_b"] + pairs["b_predicted_as_a"]
    pairs = pairs[pairs["total"] > 0]
    # A stable sort keeps class order among equal totals, so reruns write identical files.
    return pairs.sort_values("total", ascending=False, kind="stable").head(limit)


def class_errors(counts: pd.DataFrame, grades: ErrorGrades) -> pd.DataFrame:
    """Per true class: test images, errors, errors per 1,000, how often it was predicted, its
    precision, and the grade they earn.

    A class is graded twice with the same limits, the worse grade winning: by its errors per
    1,000 test images (misses), and by its wrong predictions per 1,000 predictions of it (one
    minus precision). Misses alone would call a class that the model predicts for everything
    acceptable, with no misses at all.
    """
    matrix = counts.to_numpy()
    support = matrix.sum(axis=1)
    right = np.diag(matrix)
    errors = support - right
    predicted = matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_1000 = np.where(support > 0, errors * 1000 / support, np.nan)
        # Never predicted: no wrong prediction to count (its misses already grade it).
        false_per_1000 = np.where(predicted > 0, (predicted - right) * 1000 / predicted, np.nan)
        # 0 when never predicted, as scikit-learn's report (zero_division=0) and per_class.json.
        precision = np.where(predicted > 0, right / predicted, 0.0)
    rank = np.maximum(_grade_rank(per_1000, grades), _grade_rank(false_per_1000, grades))
    grade = np.where(support == 0, "untested", np.array(GRADES[:3])[rank])
    return pd.DataFrame(
        {
            "class": counts.index,
            "support": support,
            "errors": errors,
            "errors_per_1000": per_1000,
            "predicted": predicted,
            "precision": precision,
            "grade": grade,
        }
    )


def _grade_rank(per_1000: np.ndarray, grades: ErrorGrades) -> np.ndarray:
    """0 acceptable, 1 needs work, 2 failing; NaN (nothing to judge) ranks 0."""
    return np.select(
        [np.isnan(per_1000), per_1000 <= grades.acceptable, per_1000 <= grades.needs_work],
        [0, 0, 1],
        default=2,
    )


def grade_counts(errors: pd.DataFrame) -> dict[str, int]:
    """Classes per grade, every grade present (stable keys for `dvc metrics diff`)."""
    counted = errors["grade"].value_counts()
    return {grade: int(counted.get(grade, 0)) for grade in GRADES}


def worst_classes(errors: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Tested classes, worst grade first, then most errors per 1,000, then lowest precision
    (a class failing by precision alone has no errors, yet belongs among the worst)."""
    tested = errors[errors["support"] > 0]
    rank = tested["grade"].map({"failing": 0, "needs_work": 1, "acceptable": 2})
    ordered = tested.assign(_rank=rank).sort_values(
        ["_rank", "errors_per_1000", "precision"], ascending=[True, False, True], kind="stable"
    )
    return ordered.drop(columns="_rank").head(limit)


def confidently_wrong(predictions: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Wrong predictions, highest predicted probability first; `position` is the row in the
    test arrays."""
    table = predictions.assign(position=np.arange(len(predictions)))
    wrong = table[table["true_index"] != table["predicted_index"]]
    return wrong.sort_values(["probability", "position"], ascending=[False, True]).head(limit)


def spread_sample(predictions: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Up to `limit` wrong predictions spaced evenly through the test set (so across its
    classes and confidences), in test order; `position` is the row in the test arrays."""
    table = predictions.assign(position=np.arange(len(predictions)))
    wrong = table[table["true_index"] != table["predicted_index"]]
    if len(wrong) <= limit:
        return wrong
    picks = np.unique(np.linspace(0, len(wrong) - 1, limit).round().astype(np.int64))
    return wrong.iloc[picks]
