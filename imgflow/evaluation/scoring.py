"""Test-set predictions scored: metrics, per-class figures, error grades, confused pairs, and
whether the model is degenerate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report

from imgflow.common.artifacts import read_json
from imgflow.common.errors import StageError
from imgflow.evaluation import error_analysis, metrics
from imgflow.evaluation.report import Evaluation
from imgflow.params.evaluate import EvaluateParams

EPSILON = 1e-7  # probabilities are clipped here so one confident miss cannot make the loss inf
# One class predicted for at least this share of the test set flags the model as degenerate:
# a 1-epoch model can answer one class for nearly everything and still look fine per class.
DEGENERATE_SHARE = 0.8


def predictions_table(
    splits: pd.DataFrame, probabilities: np.ndarray, classes: list[str]
) -> pd.DataFrame:
    """One row per test image, in test-array order."""
    test = splits[splits["split"] == "test"].reset_index(drop=True)
    if len(test) != len(probabilities):
        raise StageError(
            f"splits.parquet lists {len(test)} test images but the test arrays hold "
            f"{len(probabilities)}: rerun `split`"
        )
    predicted = probabilities.argmax(axis=1)
    true_index = test["label_index"].to_numpy(np.int64)
    rows = np.arange(len(predicted))
    return pd.DataFrame(
        {
            "path": test["path"],
            "true_label": test["label"],
            "predicted_label": [classes[i] for i in predicted],
            "probability": probabilities[rows, predicted].astype(np.float64),
            "true_index": true_index,
            "predicted_index": predicted.astype(np.int64),
            "true_probability": probabilities[rows, true_index].astype(np.float64),
        }
    )


def score(
    labels: np.ndarray,
    probabilities: np.ndarray,
    classes: list[str],
    top_k: int = 5,
    calibration_bins: int = 15,
) -> tuple[dict[str, Any], str]:
    """Metrics dict and the text report, for true label indices and predicted probabilities."""
    if len(labels) == 0:
        raise StageError("the test split is empty: nothing to evaluate")
    if labels.min() < 0 or labels.max() >= len(classes):
        raise StageError(f"test labels must lie in 0..{len(classes) - 1}, got {labels.max()}")
    if probabilities.shape != (len(labels), len(classes)):
        raise StageError(
            f"the model gives probabilities of shape {probabilities.shape}, expected "
            f"{(len(labels), len(classes))} (test images, classes): retrain on these classes"
        )
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1.0)
    kwargs = dict(
        y_true=labels,
        y_pred=predicted,
        labels=list(range(len(classes))),
        target_names=classes,
        zero_division=0,
    )
    report = classification_report(output_dict=True, **kwargs)
    text = classification_report(digits=4, **kwargs)
    reliability = metrics.reliability_table(
        probabilities.max(axis=1), predicted == labels, calibration_bins
    )
    result = {
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(picked).mean()),
        "top_k": top_k,
        "top_k_accuracy": metrics.top_k_accuracy(labels, probabilities, top_k),
        "precision_macro": report["macro avg"]["precision"],
        "recall_macro": report["macro avg"]["recall"],
        "f1_macro": report["macro avg"]["f1-score"],
        "ece": metrics.expected_calibration_error(reliability),
        "test_images": int(len(labels)),
        "per_class": {
            name: {
                "precision": report[name]["precision"],
                "recall": report[name]["recall"],
                "f1": report[name]["f1-score"],
                "support": int(report[name]["support"]),
            }
            for name in classes
        },
    }
    return result, text


def degeneracy(
    labels: np.ndarray, predicted: np.ndarray, classes: list[str]
) -> dict[str, float | bool | str | None]:
    """Whether the predictions look like a model that learned nothing: one class predicted for
    at least `DEGENERATE_SHARE` of the test images (when that class is not itself so common),
    or accuracy not above the majority-class rate, the score of always predicting the largest
    class. `majority_baseline` is that rate."""
    size = len(labels)
    truth = np.bincount(labels, minlength=len(classes))
    guesses = np.bincount(predicted, minlength=len(classes))
    top = int(guesses.argmax())
    reasons = []
    # A test set mostly of one class justifies predicting it mostly: the baseline rule judges.
    if guesses[top] >= DEGENERATE_SHARE * size > truth[top]:
        reasons.append(
            f"predicts {classes[top]!r} for {guesses[top] / size:.0%} of the test images "
            f"({truth[top] / size:.0%} are {classes[top]!r})"
        )
    correct = int((predicted == labels).sum())
    # Integer counts: an accuracy equal to the baseline must not pass by a rounding.
    if correct <= truth.max():
        reasons.append(
            f"accuracy {correct / size:.4f} is not above the majority-class rate "
            f"{truth.max() / size:.4f}"
        )
    return {
        "majority_baseline": float(truth.max() / size),
        "degenerate": bool(reasons),
        "degenerate_reason": "; ".join(reasons) or None,
    }


def per_class_figures(
    report_figures: Mapping[str, Mapping[str, Any]], errors: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """per_class.json: by class name, precision, recall, F1 and support with the error grade's
    figures (errors per 1,000 is null for a class without test images)."""
    graded = errors.set_index("class")
    return {
        name: {
            **figures,
            "errors_per_1000": (
                None
                if np.isnan(graded.at[name, "errors_per_1000"])
                else float(graded.at[name, "errors_per_1000"])
            ),
            "grade": str(graded.at[name, "grade"]),
        }
        for name, figures in report_figures.items()
    }


def evaluate(
    labels: np.ndarray,
    plain: np.ndarray,
    flipped: np.ndarray | None,
    classes: list[str],
    splits: pd.DataFrame,
    training: Mapping[str, float | int],
    params: EvaluateParams,
    coarse_groups: np.ndarray | None = None,
    flipped_translated: np.ndarray | None = None,
) -> Evaluation:
    """Everything evaluate writes, from the test labels and the model's probabilities without
    test-time augmentation (`plain`), with the flip (`flipped`, needed for `tta: flip` and
    `flip_translate`) and with the multi-crop one (`flipped_translated`, needed for `tta:
    flip_translate`); `training` holds the overfitting figures from `overfitting`.

    Only the TTA figures `params.tta` asks for are reported: flipping does not suit every
    dataset (digits, text), and a figure in metrics.json reads as one worth comparing."""
    needed = {"none": (), "flip": (flipped,), "flip_translate": (flipped, flipped_translated)}
    if any(probabilities is None for probabilities in needed[params.tta]):
        raise StageError(f"evaluate.tta: {params.tta} needs its predictions")
    chosen = {"none": plain, "flip": flipped, "flip_translate": flipped_translated}[params.tta]
    scores, text = score(labels, chosen, classes, params.top_k, params.calibration_bins)
    predicted = chosen.argmax(axis=1)
    counts = error_analysis.confusion_table(labels, predicted, classes)
    errors = error_analysis.class_errors(counts, params.error_grades)

    def accuracy_of(probabilities: np.ndarray) -> float:
        return float((probabilities.argmax(axis=1) == labels).mean())

    head = {"accuracy": accuracy_of(plain)}
    if params.tta != "none":
        head["accuracy_tta_flip"] = accuracy_of(flipped)
    if params.tta == "flip_translate":
        head["accuracy_tta_flip_translate"] = accuracy_of(flipped_translated)
    if coarse_groups is not None:
        head["coarse_accuracy"] = metrics.coarse_accuracy(labels, predicted, coarse_groups)
    per_class = scores.pop("per_class")
    scores.pop("accuracy")  # the chosen predictions' accuracy is one of those above
    return Evaluation(
        metrics={
            **head,
            **scores,
            **degeneracy(labels, predicted, classes),
            "class_grades": error_analysis.grade_counts(errors),
            **training,
        },
        per_class=per_class_figures(per_class, errors),
        report=text,
        predictions=predictions_table(splits, chosen, classes),
        class_errors=errors,
        confused_pairs=error_analysis.confused_pairs(counts, params.confused_pairs),
        tta=params.tta,
    )


def read_coarse_groups(path: Path, classes: list[str]) -> np.ndarray | None:
    """Coarse group index per class from split's hierarchy.json; None when there is none."""
    if not path.exists():
        return None
    hierarchy = read_json(path)
    if not isinstance(hierarchy, dict) or not all(
        isinstance(value, str) for value in hierarchy.values()
    ):
        raise StageError(f"{path}: expected a JSON object of class name -> coarse group name")
    return metrics.coarse_groups(hierarchy, classes, str(path))
