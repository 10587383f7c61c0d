"""Stage 7, `plot`: the pictures a person checks, each PNG beside the data drawn in it.

Outputs (folder reports/plots/):
  training_curves.png      accuracy and loss per epoch, train vs validation (data: reports/train)
  confusion_matrix.png     test counts, true vs predicted, with class names (+ .csv)
  samples.png              a grid of training images per class
  class_distribution.png   images per class in each split (+ .csv)
  misclassified.png        misclassified test images, most confident first (+ .csv)
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

from stages.artifacts import atomic_dir, read_json  # noqa: E402
from stages.errors import StageError, run_stage  # noqa: E402
from stages.params import PlotParams, load_params  # noqa: E402
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


def confusion_counts(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Square table of counts: rows true class, columns predicted class."""
    table = pd.crosstab(
        pd.Categorical(predictions["true_label"], categories=classes),
        pd.Categorical(predictions["predicted_label"], categories=classes),
        dropna=False,
    )
    table.index.name, table.columns.name = "true", "predicted"
    return table


def class_distribution(splits: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Images per class (rows) in each split (columns)."""
    table = pd.crosstab(
        pd.Categorical(splits["label"], categories=classes), splits["split"], dropna=False
    )
    table.index.name = "class"
    return table.reindex(columns=[s for s in SPLITS if s in table.columns], fill_value=0)


def most_confident_misses(predictions: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Wrong predictions, most confident first; `position` is the row in the test arrays."""
    wrong = predictions.assign(position=np.arange(len(predictions)))
    wrong = wrong[wrong["true_label"] != wrong["predicted_label"]]
    return wrong.sort_values(["probability", "position"], ascending=[False, True]).head(limit)


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


def plot_confusion(counts: pd.DataFrame) -> Figure:
    n = len(counts)
    size = min(4 + 0.45 * n, 24)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(counts.to_numpy(), cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ticks = np.arange(n)
    ax.set_xticks(ticks, counts.columns, rotation=90 if n > 10 else 45, ha="right")
    ax.set_yticks(ticks, counts.index)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix (test)")
    if n <= 20:
        peak = counts.to_numpy().max() or 1
        for (i, j), value in np.ndenumerate(counts.to_numpy()):
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > peak / 2 else "black",
            )
    fig.tight_layout()
    return fig


def _show(ax: plt.Axes, image: np.ndarray) -> None:
    ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_samples(
    images: np.ndarray, labels: np.ndarray, classes: list[str], per_class: int
) -> Figure:
    fig, axes = plt.subplots(
        len(classes),
        per_class,
        squeeze=False,
        figsize=(per_class * 0.9 + 1, len(classes) * 0.9 + 0.5),
    )
    for row, name in enumerate(classes):
        picks = np.flatnonzero(labels == row)[:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            if col < len(picks):
                _show(ax, images[picks[col]])
            else:
                ax.axis("off")
            if col == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle("Training samples per class")
    fig.tight_layout()
    return fig


def plot_distribution(distribution: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(distribution) + 2), 4))
    distribution.plot.bar(ax=ax)
    ax.set(title="Images per class and split", xlabel="class", ylabel="images")
    fig.tight_layout()
    return fig


def plot_misclassified(images: np.ndarray, misses: pd.DataFrame) -> Figure:
    n = max(len(misses), 1)
    cols = min(5, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(cols * 2.2, rows * 2.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, miss in zip(axes.flat, misses.itertuples(), strict=False):
        _show(ax, images[miss.position])
        ax.axis("on")
        ax.set_title(
            f"true: {miss.true_label}\npred: {miss.predicted_label} ({miss.probability:.2f})",
            fontsize=8,
        )
    if misses.empty:
        axes[0, 0].text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
    fig.suptitle("Misclassified test images, most confident first")
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("live_dir", type=Path, help="train's DVCLive log, e.g. reports/train")
    parser.add_argument("predictions", type=Path, help="e.g. reports/predictions.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. reports/plots")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params: PlotParams = load_params(args.params).plot
    classes = read_json(args.processed / "classes.json")
    splits = pd.read_parquet(args.processed / "splits.parquet")
    predictions = pd.read_parquet(args.predictions)
    counts = confusion_counts(predictions, classes)
    distribution = class_distribution(splits, classes)
    misses = most_confident_misses(predictions, params.misclassified)
    figures = {
        "training_curves": plot_curves(read_curves(args.live_dir)),
        "confusion_matrix": plot_confusion(counts),
        "samples": plot_samples(
            np.load(args.processed / "train_images.npy", mmap_mode="r"),
            np.load(args.processed / "train_labels.npy"),
            classes,
            params.samples_per_class,
        ),
        "class_distribution": plot_distribution(distribution),
        "misclassified": plot_misclassified(np.load(args.processed / "test_images.npy"), misses),
    }
    with atomic_dir(args.out_dir) as staging:
        for name, figure in figures.items():
            figure.savefig(staging / f"{name}.png", dpi=100)
            plt.close(figure)
        counts.to_csv(staging / "confusion_matrix.csv")
        distribution.to_csv(staging / "class_distribution.csv")
        misses.drop(columns=["position"]).to_csv(staging / "misclassified.csv", index=False)
    print(f"plot: {len(figures)} figures -> {args.out_dir}")


if __name__ == "__main__":
    run_stage("plot", main)
