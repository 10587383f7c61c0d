"""Figures of the test-set results: confusion matrices, reliability diagram, graded class
errors, and galleries of misclassified images. Each takes the table it draws."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from imgflow.params.evaluate import ErrorGrades

GRADE_COLOURS = {
    "acceptable": "tab:green",
    "needs_work": "tab:orange",
    "failing": "tab:red",
    "untested": "tab:gray",
}


def plot_confusion(table: pd.DataFrame, title: str) -> Figure:
    """Heat map of a confusion table; whole numbers are counts, fractions are row shares."""
    n = len(table)
    values = table.to_numpy()
    size = min(4 + 0.45 * n, 24)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(values, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ticks = np.arange(n)
    ax.set_xticks(ticks, table.columns, rotation=90 if n > 10 else 45, ha="right")
    ax.set_yticks(ticks, table.index)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    if n <= 20:  # beyond that the numbers no longer fit their cells
        peak = values.max() or 1
        counts = np.issubdtype(values.dtype, np.integer)
        for (i, j), value in np.ndenumerate(values):
            ax.text(
                j,
                i,
                str(value) if counts else f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > peak / 2 else "black",
            )
    fig.tight_layout()
    return fig


def plot_reliability(table: pd.DataFrame, ece: float) -> Figure:
    """Accuracy against mean confidence per confidence bin; the diagonal is perfect calibration."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    used = table[table["images"] > 0]
    width = table["bin_upper"] - table["bin_lower"]
    top.bar(
        table["bin_lower"],
        table["accuracy"].fillna(0),
        width=width,
        align="edge",
        edgecolor="black",
        alpha=0.7,
        label="accuracy",
    )
    top.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    top.plot(used["mean_confidence"], used["accuracy"], "o-", color="tab:red", label="observed")
    top.set(ylabel="accuracy", ylim=(0, 1), title=f"Reliability (test), ECE {ece:.4f}")
    top.legend(loc="upper left")
    bottom.bar(table["bin_lower"], table["images"], width=width, align="edge", edgecolor="black")
    bottom.set(xlabel="confidence (top probability)", ylabel="images", xlim=(0, 1))
    fig.tight_layout()
    return fig


def plot_class_errors(errors: pd.DataFrame, grades: ErrorGrades) -> Figure:
    """Errors per 1,000 test images of each class, coloured by grade, with the grade limits."""
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(errors) + 2), 4))
    colours = [GRADE_COLOURS[grade] for grade in errors["grade"]]
    ax.bar(errors["class"].astype(str), errors["errors_per_1000"].fillna(0), color=colours)
    for limit, grade in ((grades.acceptable, "acceptable"), (grades.needs_work, "needs_work")):
        ax.axhline(limit, linestyle="--", color=GRADE_COLOURS[grade], label=f"{grade} limit")
    ax.set(title="Errors per 1,000 test images, by class", xlabel="class", ylabel="errors/1000")
    ax.tick_params(axis="x", rotation=90 if len(errors) > 10 else 0)
    ax.legend()
    fig.tight_layout()
    return fig


def show_image(ax: plt.Axes, image: np.ndarray) -> None:
    ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_gallery(images: np.ndarray, misses: pd.DataFrame, title: str) -> Figure:
    """Test images of `misses` (rows with `position`), each with true label, prediction and
    the prediction's probability."""
    n = max(len(misses), 1)
    cols = min(5, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(cols * 2.2, rows * 2.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, miss in zip(axes.flat, misses.itertuples(), strict=False):
        show_image(ax, images[miss.position])
        ax.axis("on")
        ax.set_title(
            f"true: {miss.true_label}\npred: {miss.predicted_label} ({miss.probability:.2f})",
            fontsize=8,
        )
    if misses.empty:
        axes[0, 0].text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
