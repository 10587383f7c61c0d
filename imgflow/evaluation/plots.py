"""The plot stage's figures, each with the data behind it."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from imgflow.common.errors import StageError
from imgflow.data.layout import SPLITS
from imgflow.evaluation import error_analysis, metrics
from imgflow.evaluation.figures import (
    plot_class_errors,
    plot_confusion,
    plot_gallery,
    plot_reliability,
    show_image,
)
from imgflow.params.loader import Params

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
