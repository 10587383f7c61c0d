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

With --report (dvc.yaml: reports/report.html), also one self-contained page of the whole run:
these figures, galleries of the wrong predictions, and what validate and evaluate reported,
read from the page's own folder (imgflow/evaluation/html_report.py), with the git revision,
the data (--raw: download's folder) and the params that made it.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imgflow.common.artifacts import atomic_dir, atomic_file, read_json, sweep_stale_temps
from imgflow.common.errors import run_stage
from imgflow.evaluation.html_report import gallery_items, read_inputs, render_report
from imgflow.evaluation.plots import figures_and_data, read_curves
from imgflow.params.loader import load_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("live_dir", type=Path, help="train's DVCLive log, e.g. reports/train")
    parser.add_argument("predictions", type=Path, help="e.g. reports/predictions.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. reports/plots")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument(
        "--report",
        type=Path,
        help="also write the run's page here, e.g. reports/report.html; it reads validate's "
        "and evaluate's reports from its own folder",
    )
    parser.add_argument(
        "--raw", type=Path, default=Path("data/raw"), help="download's folder, for the page"
    )
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.out_dir, *([args.report] if args.report else []))
    folder = args.processed
    test_images = np.load(folder / "test_images.npy", mmap_mode="r")
    figures = figures_and_data(
        read_json(folder / "classes.json"),
        pd.read_parquet(args.predictions),
        test_images,
        (np.load(folder / "train_images.npy", mmap_mode="r"), np.load(folder / "train_labels.npy")),
        pd.read_parquet(folder / "splits.parquet"),
        read_curves(args.live_dir),
        load_params(args.params),
    )
    pngs = {}
    with atomic_dir(args.out_dir) as staging:
        for name, (figure, data) in figures.items():
            # Drawn once: the same bytes go to the PNG file and into the page.
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100)
            plt.close(figure)
            pngs[name] = buffer.getvalue()
            (staging / f"{name}.png").write_bytes(pngs[name])
            # Named index (confusion tables, distribution) is data; a plain 0..n index is not.
            data.to_csv(staging / f"{name}.csv", index=data.index.name is not None)
    print(f"plot: {len(figures)} figures, each with its data as CSV -> {args.out_dir}")
    if args.report:
        page = render_report(
            # The plot stage runs from the project root (DVC's cwd): its git checkout.
            read_inputs(args.report.parent, args.raw, args.params, Path.cwd()),
            pngs,
            figures["class_distribution"][1],
            gallery_items(figures["misclassified"][1], test_images),
            gallery_items(figures["confidently_wrong"][1], test_images),
        )
        with atomic_file(args.report) as temp:
            temp.write_text(page, encoding="utf-8")
        print(f"plot: the run on one page -> {args.report}")


if __name__ == "__main__":
    run_stage("plot", main)
