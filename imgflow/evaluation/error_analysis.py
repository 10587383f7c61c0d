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
    """Per true class: test images, errors, errors per 1,000 and the grade they earn."""
    matrix = counts.to_numpy()
    support = matrix.sum(axis=1)
    errors = support - np.diag(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_1000 = np.where(support > 0, errors * 1000 / support, np.nan)
    grade = np.select(
        [support == 0, per_1000 <= grades.acceptable, per_1000 <= grades.needs_work],
        ["untested", "acceptable", "needs_work"],
        default="failing",
    )
    return pd.DataFrame(
        {
            "class": counts.index,
            "support": support,
            "errors": errors,
            "errors_per_1000": per_1000,
            "grade": grade,
        }
    )


def grade_counts(errors: pd.DataFrame) -> dict[str, int]:
    """Classes per grade, every grade present (stable keys for `dvc metrics diff`)."""
    counted = errors["grade"].value_counts()
    return {grade: int(counted.get(grade, 0)) for grade in GRADES}


def worst_classes(errors: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Tested classes with the most errors per 1,000, worst first."""
    tested = errors[errors["support"] > 0]
    return tested.sort_values("errors_per_1000", ascending=False, kind="stable").head(limit)


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
