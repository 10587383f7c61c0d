"""Stage 7, `plot`: the pictures a person checks, each PNG beside the data drawn in it.

Outputs (folder reports/plots/), each PNG with a CSV of the data drawn in it:
  training_curves          accuracy and loss per epoch, train vs validation
  confusion_matrix         test counts, true vs predicted, with class names
  confusion_matrix_normalised  the same as shares of each true class (rows sum to 1)
  samples                  a grid of training images per class (CSV: their train positions)
  class_distribution       images per class in each split
  misclassified            misclassified test images spread through the test set, each with
                           true label, prediction and its probability
  confidently_wrong        the wrong predictions with the highest probability
  reliability              accuracy against confidence per bin (`evaluate.calibration_bins`)
  class_errors             errors per 1,000 test images per class against `evaluate.error_grades`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imgflow.common.artifacts import atomic_dir, read_json, sweep_stale_temps
from imgflow.common.errors import run_stage
from imgflow.evaluation.plots import figures_and_data, read_curves
from imgflow.params.loader import load_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("live_dir", type=Path, help="train's DVCLive log, e.g. reports/train")
    parser.add_argument("predictions", type=Path, help="e.g. reports/predictions.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. reports/plots")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.out_dir)
    folder = args.processed
    figures = figures_and_data(
        read_json(folder / "classes.json"),
        pd.read_parquet(args.predictions),
        np.load(folder / "test_images.npy", mmap_mode="r"),
        (np.load(folder / "train_images.npy", mmap_mode="r"), np.load(folder / "train_labels.npy")),
        pd.read_parquet(folder / "splits.parquet"),
        read_curves(args.live_dir),
        load_params(args.params),
    )
    with atomic_dir(args.out_dir) as staging:
        for name, (figure, data) in figures.items():
            figure.savefig(staging / f"{name}.png", dpi=100)
            plt.close(figure)
            # Named index (confusion tables, distribution) is data; a plain 0..n index is not.
            data.to_csv(staging / f"{name}.csv", index=data.index.name is not None)
    print(f"plot: {len(figures)} figures, each with its data as CSV -> {args.out_dir}")


if __name__ == "__main__":
    run_stage("plot", main)
