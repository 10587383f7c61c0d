"""Stage 6, `evaluate`: score the trained model on the test split.

Outputs:
  reports/metrics.json                 accuracy, loss, macro precision/recall/F1, and per class
                                       (under the class names) precision, recall, F1, support
  reports/classification_report.txt    scikit-learn's report, 4 decimals
  reports/predictions.parquet          per test image: path, true and predicted label,
                                       probability of the prediction
  reports/predictions.csv              actual,predicted pairs for DVC's `confusion` plot
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import classification_report  # noqa: E402

from stages.artifacts import atomic_file, read_json, write_json, write_parquet, write_text  # noqa: E402
from stages.errors import StageError, run_stage  # noqa: E402
from stages.params import load_params  # noqa: E402

EPSILON = 1e-7  # probabilities are clipped here so one confident miss cannot make the loss inf


def predictions_table(
    splits: pd.DataFrame, probabilities: np.ndarray, classes: list[str]
) -> pd.DataFrame:
    """One row per test image, in test-array order."""
    test = splits[splits["split"] == "test"].reset_index(drop=True)
    predicted = probabilities.argmax(axis=1)
    return pd.DataFrame(
        {
            "path": test["path"],
            "true_label": test["label"],
            "predicted_label": [classes[i] for i in predicted],
            "probability": probabilities[np.arange(len(predicted)), predicted].astype(np.float64),
            "true_index": test["label_index"].astype(np.int64),
            "predicted_index": predicted.astype(np.int64),
        }
    )


def score(
    labels: np.ndarray, probabilities: np.ndarray, classes: list[str]
) -> tuple[dict[str, Any], str]:
    """Metrics dict and the text report, for true label indices and predicted probabilities."""
    if len(labels) == 0:
        raise StageError("the test split is empty: nothing to evaluate")
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
    metrics = {
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(picked).mean()),
        "precision_macro": report["macro avg"]["precision"],
        "recall_macro": report["macro avg"]["recall"],
        "f1_macro": report["macro avg"]["f1-score"],
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
    return metrics, text


def main(argv: list[str] | None = None) -> None:
    from stages.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("model", type=Path, help="train's model, e.g. models/model.keras")
    parser.add_argument("reports", type=Path, help="output folder, e.g. reports")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_params(args.params).evaluate
    classes = read_json(args.processed / "classes.json")
    images = np.load(args.processed / "test_images.npy")
    labels = np.load(args.processed / "test_labels.npy")
    model = load_model(args.model)
    probabilities = model.predict(images, batch_size=params.batch_size, verbose=0)
    metrics, text = score(labels, probabilities, classes)
    predictions = predictions_table(
        pd.read_parquet(args.processed / "splits.parquet"), probabilities, classes
    )
    write_json(metrics, args.reports / "metrics.json")
    write_text(text, args.reports / "classification_report.txt")
    write_parquet(predictions, args.reports / "predictions.parquet")
    with atomic_file(args.reports / "predictions.csv") as tmp:
        predictions.rename(columns={"true_label": "actual", "predicted_label": "predicted"})[
            ["actual", "predicted"]
        ].to_csv(tmp, index=False)
    print(
        f"evaluate: test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f} "
        f"on {len(labels)} images -> {args.reports / 'metrics.json'}"
    )


if __name__ == "__main__":
    run_stage("evaluate", main)
