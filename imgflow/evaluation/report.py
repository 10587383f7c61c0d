"""What `evaluate` hands back, the overfitting figures from train's record, and the short
summary a person reads at the end of the stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from imgflow.common.errors import StageError
from imgflow.evaluation import error_analysis

WORST_SHOWN = 5  # classes and pairs named in the summary; the CSVs hold them all


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]  # metrics.json: the figures compared across runs
    per_class: dict[str, dict[str, Any]]  # per_class.json: each class's figures, by name
    report: str  # scikit-learn's classification report
    predictions: pd.DataFrame
    class_errors: pd.DataFrame
    confused_pairs: pd.DataFrame
    tta: str  # which predictions fed everything but the accuracies


def _key(info: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in info:
        raise StageError(
            f"{source}: missing key {key!r}: the model was trained before train recorded "
            f"its history; rerun train"
        )
    return info[key]


def overfitting(info: Mapping[str, Any], source: str) -> dict[str, float | int]:
    """Best epoch and train - validation accuracy gaps, from train's history.json.
    Training accuracy is measured during each epoch (dropout and augmentation on), so a gap
    near zero or below is normal for a regularised model."""
    history = _key(info, "history", source)
    train_acc = _key(history, "accuracy", f"{source} history")
    val_acc = _key(history, "val_accuracy", f"{source} history")
    if not train_acc or len(train_acc) != len(val_acc):
        raise StageError(
            f"{source}: history.accuracy and history.val_accuracy must be equal-length, "
            f"non-empty lists, got {len(train_acc)} and {len(val_acc)} epochs"
        )
    best_epoch = int(_key(info, "best_epoch", source))
    if not 1 <= best_epoch <= len(train_acc):
        raise StageError(f"{source}: best_epoch {best_epoch} is outside 1..{len(train_acc)}")
    at_best = float(_key(info, "train_accuracy_at_best_epoch", source))
    best_val = float(_key(info, "best_val_accuracy", source))
    return {
        "best_epoch": best_epoch,
        "epochs_run": len(train_acc),
        "best_val_accuracy": best_val,
        "train_accuracy_at_best_epoch": at_best,
        "overfitting_gap": at_best - best_val,
        "final_overfitting_gap": float(train_acc[-1]) - float(val_acc[-1]),
    }


def degenerate_warning(metrics: Mapping[str, Any]) -> str | None:
    """The loud line for a degenerate model (see scoring.degeneracy), or None."""
    if not metrics.get("degenerate"):
        return None
    reason = metrics.get("degenerate_reason") or "see reports/metrics.json"
    return f"WARNING: DEGENERATE MODEL: {reason}"


def summary(result: Evaluation) -> str:
    """A few lines: accuracies, calibration, worst classes by grade, confusions, overfitting."""
    m = result.metrics
    top_k = (
        f"top-{m['top_k']} accuracy {m['top_k_accuracy']:.4f}"
        if m["top_k_accuracy"] is not None
        else f"top-{m['top_k']} accuracy skipped (not fewer than the classes)"
    )
    accuracies = f"  accuracy {m['accuracy']:.4f}"
    if "accuracy_tta_flip" in m:
        accuracies += f", with flip TTA {m['accuracy_tta_flip']:.4f}"
    if "accuracy_tta_flip_translate" in m:
        accuracies += f", with multi-crop TTA {m['accuracy_tta_flip_translate']:.4f}"
    if result.tta != "none":
        accuracies += f" (the tables use tta={result.tta})"
    # Beside the accuracy, the score of always answering the largest class: the floor to beat.
    accuracies += f"; majority-class rate {m['majority_baseline']:.4f}"
    lines = [f"evaluate: {m['test_images']} test images, {len(result.per_class)} classes"]
    warning = degenerate_warning(m)
    if warning:
        lines.append(f"  {warning}")
    lines += [
        accuracies,
        f"  {top_k}, macro F1 {m['f1_macro']:.4f}, ECE {m['ece']:.4f}",
    ]
    if "coarse_accuracy" in m:
        lines.append(f"  coarse accuracy {m['coarse_accuracy']:.4f}")
    grades = m["class_grades"]
    lines.append(
        "  classes: "
        + ", ".join(f"{count} {grade.replace('_', ' ')}" for grade, count in grades.items())
    )
    worst = error_analysis.worst_classes(result.class_errors, WORST_SHOWN)
    worst = worst[worst["grade"] != "acceptable"]
    if not worst.empty:
        lines.append(
            "  worst: "
            + ", ".join(
                f"{row['class']} ({row['errors_per_1000']:.0f} errors per 1,000, "
                f"precision {row['precision']:.2f}, {row['grade']})"
                for _, row in worst.iterrows()
            )
        )
    if not result.confused_pairs.empty:
        lines.append(
            "  most confused: "
            + ", ".join(
                f"{row['class_a']} <-> {row['class_b']} ({row['total']})"
                for _, row in result.confused_pairs.head(WORST_SHOWN).iterrows()
            )
        )
    lines.append(
        f"  overfitting: train - val accuracy {m['overfitting_gap']:+.4f} at the best epoch "
        f"({m['best_epoch']} of {m['epochs_run']}), {m['final_overfitting_gap']:+.4f} at the last"
    )
    return "\n".join(lines)
