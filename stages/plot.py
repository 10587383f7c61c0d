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

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from stages import error_analysis, metrics  # noqa: E402
from stages.artifacts import atomic_dir, read_json  # noqa: E402
from stages.errors import StageError, run_stage  # noqa: E402
from stages.params import Params, load_params  # noqa: E402
from stages.plot_evaluation import (  # noqa: E402
    plot_class_errors,
    plot_confusion,
    plot_gallery,
    plot_reliability,
    show_image,
)
from stages.split import SPLITS  # noqa: E402

CURVES = (("accuracy", "Accuracy"), ("loss", "Loss"))


def read_curves(live_dir: Path) -> pd.DataFrame:
    """DVCLive's per-epoch logs as one table: step, metric, phase (train/eval), value."""
    frames = []
    for metric, _ in CURVES:
        for phase in ("train", "eval"):
            path = live_dir / "plots" / "metrics" / phase / f"{metric}.tsv"
            if not path.exists():
                raise StageError(f"{path}: missing training log (did train run with DVCLive?)")
            frame = pd.read_csv(path, sep="\t")
            frames.append(
                pd.DataFrame(
                    {
                        "step": frame["step"],
                        "metric": metric,
                        "phase": phase,
                        "value": frame[metric],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def class_distribution(splits: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Images per class (rows) in each split (columns)."""
    table = pd.crosstab(
        pd.Categorical(splits["label"], categories=classes), splits["split"], dropna=False
    )
    table.index.name = "class"
    return table.reindex(columns=[s for s in SPLITS if s in table.columns], fill_value=0)


def plot_curves(curves: pd.DataFrame) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (metric, title) in zip(axes, CURVES, strict=True):
        for phase, name in (("train", "train"), ("eval", "validation")):
            part = curves[(curves["metric"] == metric) & (curves["phase"] == phase)]
            ax.plot(part["step"] + 1, part["value"], marker="o", label=name)
        ax.set(title=title, xlabel="epoch", ylabel=metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def sample_picks(labels: np.ndarray, classes: list[str], per_class: int) -> pd.DataFrame:
    """The first `per_class` training images of each class: class, column, train position."""
    rows = [
        (name, column, int(position))
        for index, name in enumerate(classes)
        for column, position in enumerate(np.flatnonzero(labels == index)[:per_class])
    ]
    return pd.DataFrame(rows, columns=["class", "column", "position"])


def plot_samples(
    images: np.ndarray, picks: pd.DataFrame, classes: list[str], per_class: int
) -> Figure:
    fig, axes = plt.subplots(
        len(classes),
        per_class,
        squeeze=False,
        figsize=(per_class * 0.9 + 1, len(classes) * 0.9 + 0.5),
    )
    for ax in axes.flat:
        ax.axis("off")
    for row, name in enumerate(classes):
        axes[row, 0].axis("on")
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    rows = {name: row for row, name in enumerate(classes)}
    for pick in picks.itertuples():
        ax = axes[rows[pick[1]], pick.column]  # pick[1]: `class` is a keyword
        ax.axis("on")
        show_image(ax, images[pick.position])
    fig.suptitle("Training samples per class")
    fig.tight_layout()
    return fig


def plot_distribution(distribution: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(distribution) + 2), 4))
    distribution.plot.bar(ax=ax)
    ax.set(title="Images per class and split", xlabel="class", ylabel="images")
    fig.tight_layout()
    return fig


def figures_and_data(
    classes: list[str],
    predictions: pd.DataFrame,
    test_images: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    splits: pd.DataFrame,
    curves: pd.DataFrame,
    params: Params,
) -> dict[str, tuple[Figure, pd.DataFrame]]:
    """Every figure by file name, with the table drawn in it. `train` is the training images
    and labels; `params` gives the `plot` and `evaluate` sections."""
    plot, evaluate = params.plot, params.evaluate
    if len(test_images) != len(predictions):
        raise StageError(
            f"test_images.npy holds {len(test_images)} images but the predictions "
            f"{len(predictions)}: rerun evaluate"
        )
    true, predicted = predictions["true_index"], predictions["predicted_index"]
    counts = error_analysis.confusion_table(true, predicted, classes)
    shares = error_analysis.confusion_table(true, predicted, classes, normalise=True)
    reliability = metrics.reliability_table(
        predictions["probability"].to_numpy(),
        (true == predicted).to_numpy(),
        evaluate.calibration_bins,
    )
    errors = error_analysis.class_errors(counts, evaluate.error_grades)
    distribution = class_distribution(splits, classes)
    picks = sample_picks(train[1], classes, plot.samples_per_class)
    spread = error_analysis.spread_sample(predictions, plot.misclassified)
    confident = error_analysis.confidently_wrong(predictions, plot.confidently_wrong)
    return {
        "training_curves": (plot_curves(curves), curves),
        "confusion_matrix": (plot_confusion(counts, "Confusion matrix (test)"), counts),
        "confusion_matrix_normalised": (
            plot_confusion(shares, "Confusion matrix (test), share of each true class"),
            shares,
        ),
        "samples": (
            plot_samples(train[0], picks, classes, plot.samples_per_class),
            picks,
        ),
        "class_distribution": (plot_distribution(distribution), distribution),
        "misclassified": (
            plot_gallery(
                test_images, spread, "Misclassified test images, spread over the test set"
            ),
            spread,
        ),
        "confidently_wrong": (
            plot_gallery(test_images, confident, "Most confidently wrong test predictions"),
            confident,
        ),
        "reliability": (
            plot_reliability(reliability, metrics.expected_calibration_error(reliability)),
            reliability,
        ),
        "class_errors": (plot_class_errors(errors, evaluate.error_grades), errors),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("live_dir", type=Path, help="train's DVCLive log, e.g. reports/train")
    parser.add_argument("predictions", type=Path, help="e.g. reports/predictions.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. reports/plots")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
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
