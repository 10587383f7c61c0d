"""Test-set predictions scored: metrics, per-class figures, error grades, confused pairs."""

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


def evaluate(
    labels: np.ndarray,
    plain: np.ndarray,
    flipped: np.ndarray,
    classes: list[str],
    splits: pd.DataFrame,
    training: Mapping[str, float | int],
    params: EvaluateParams,
    coarse_groups: np.ndarray | None = None,
    flipped_translated: np.ndarray | None = None,
) -> Evaluation:
    """Everything evaluate writes, from the test labels and the model's probabilities without
    (`plain`) and with (`flipped`) flip test-time augmentation, and with the multi-crop one
    (`flipped_translated`, needed for `tta: flip_translate`); `training` holds the
    overfitting figures from `overfitting`."""
    by_tta = {"none": plain, "flip": flipped, "flip_translate": flipped_translated}
    chosen = by_tta[params.tta]
    if chosen is None:
        raise StageError(f"evaluate.tta: {params.tta} needs its predictions")
    scores, text = score(labels, chosen, classes, params.top_k, params.calibration_bins)
    predicted = chosen.argmax(axis=1)
    counts = error_analysis.confusion_table(labels, predicted, classes)
    errors = error_analysis.class_errors(counts, params.error_grades)

    def accuracy_of(probabilities: np.ndarray) -> float:
        return float((probabilities.argmax(axis=1) == labels).mean())

    head = {"accuracy": accuracy_of(plain), "accuracy_tta_flip": accuracy_of(flipped)}
    if flipped_translated is not None:
        head["accuracy_tta_flip_translate"] = accuracy_of(flipped_translated)
    if coarse_groups is not None:
        head["coarse_accuracy"] = metrics.coarse_accuracy(labels, predicted, coarse_groups)
    per_class = scores.pop("per_class")
    scores.pop("accuracy")  # the chosen predictions' accuracy is one of the two above
    return Evaluation(
        metrics={
            **head,
            **scores,
            "class_grades": error_analysis.grade_counts(errors),
            **training,
            "per_class": per_class,
        },
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
