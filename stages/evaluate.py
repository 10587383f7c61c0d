"""Stage 6, `evaluate`: score the trained model on the test split.

Outputs (folder reports/):
  metrics.json               the figures compared across runs (a DVC metric): accuracy, and
                             with the test-time augmentation `evaluate.tta` asks for (flip;
                             flip and multi-crop), loss, top-k accuracy, macro
                             precision/recall/F1, expected calibration error, test images,
                             majority-class rate and the degenerate-model flag with its reason,
                             coarse accuracy (datasets with a hierarchy), classes per error grade,
                             overfitting (best epoch, train - val accuracy gaps)
  per_class.json             by class name: precision, recall, F1, support, errors per 1,000
                             and grade (not a DVC metric: its keys differ between datasets)
  classification_report.txt  scikit-learn's report, 4 decimals
  predictions.parquet        per test image: path, true and predicted label, probability of the
                             prediction and of the true class
  predictions.csv            actual,predicted pairs for DVC's `confusion` plot
  class_errors.csv           per class: support, errors, errors per 1,000, times predicted,
                             precision and grade
  confused_pairs.csv         the class pairs most often mistaken for each other
  summary.txt                the short human summary the stage prints

`evaluate.tta` chooses which predictions (plain, flip-averaged, or also averaged over one-pixel
moves) feed everything but the plain accuracy, and which TTA figures are computed at all:
flipping suits photos, not digits or text.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

from imgflow.common.artifacts import (
    atomic_file,
    read_json,
    sweep_stale_temps,
    write_json,
    write_parquet,
    write_text,
)
from imgflow.common.errors import StageError, run_stage
from imgflow.evaluation import metrics
from imgflow.evaluation.report import overfitting, summary
from imgflow.evaluation.scoring import evaluate, read_coarse_groups
from imgflow.params.loader import load_params
from imgflow.training.batches import batches

# The files this stage writes into its reports folder (dvc.yaml lists each).
OUTPUTS = (
    "metrics.json",
    "per_class.json",
    "classification_report.txt",
    "predictions.parquet",
    "predictions.csv",
    "class_errors.csv",
    "confused_pairs.csv",
    "summary.txt",
)


def main(argv: list[str] | None = None) -> None:
    from imgflow.models.presets import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("model", type=Path, help="train's model, e.g. models/model.keras")
    parser.add_argument("reports", type=Path, help="output folder, e.g. reports")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(*(args.reports / name for name in OUTPUTS))
    params = load_params(args.params).evaluate
    classes = read_json(args.processed / "classes.json")
    images = np.load(args.processed / "test_images.npy")
    labels = np.load(args.processed / "test_labels.npy")
    record_path = args.model.with_name("history.json")  # train writes it beside the model
    if not record_path.exists():
        raise StageError(f"{record_path}: missing (train writes it beside the model): rerun train")
    training = overfitting(read_json(record_path), str(record_path))
    coarse = read_coarse_groups(args.processed / "hierarchy.json", classes)
    model = load_model(args.model)

    def predict(batch: np.ndarray) -> np.ndarray:
        return model.predict(batches(batch, params.batch_size), verbose=0)

    # Only the passes `evaluate.tta` asks for: each is a full pass over the test images.
    plain = predict(images)
    flipped = flipped_translated = None
    if params.tta != "none":
        flipped = metrics.flip_averaged(predict, images, plain)
    if params.tta == "flip_translate":
        flipped_translated = metrics.with_flip_translate_tta(predict, images, flipped)
    result = evaluate(
        labels,
        plain,
        flipped,
        classes,
        pd.read_parquet(args.processed / "splits.parquet"),
        training,
        params,
        coarse,
        flipped_translated,
    )
    write_json(result.metrics, args.reports / "metrics.json")
    write_json(result.per_class, args.reports / "per_class.json")
    write_text(result.report, args.reports / "classification_report.txt")
    write_parquet(result.predictions, args.reports / "predictions.parquet")
    with atomic_file(args.reports / "predictions.csv") as tmp:
        result.predictions.rename(columns={"true_label": "actual", "predicted_label": "predicted"})[
            ["actual", "predicted"]
        ].to_csv(tmp, index=False)
    with atomic_file(args.reports / "class_errors.csv") as tmp:
        result.class_errors.to_csv(tmp, index=False)
    with atomic_file(args.reports / "confused_pairs.csv") as tmp:
        result.confused_pairs.to_csv(tmp, index=False)
    text = summary(result)
    write_text(text + "\n", args.reports / "summary.txt")
    print(text)


if __name__ == "__main__":
    run_stage("evaluate", main)
