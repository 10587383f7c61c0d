"""Scores computed from true labels and predicted probabilities, no files, no model.

Probabilities are (images, classes) softmax rows; labels are class indices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import top_k_accuracy_score

from imgflow.common.errors import StageError


def with_flip_tta(
    predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the images as they are, and averaged with their mirror images
    (horizontal flip of NHWC arrays): the second is test-time augmentation."""
    plain = predict(images)
    return plain, flip_averaged(predict, images, plain)


def flip_averaged(
    predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, plain: np.ndarray
) -> np.ndarray:
    """`plain` (the images' own probabilities) averaged with their mirror images': one more
    pass over the images, for a caller that already has `plain`."""
    mirrored = predict(np.ascontiguousarray(np.flip(images, axis=2)))
    return (plain + mirrored) / 2


def shifted(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """NHWC images moved by up to one pixel down (`rows`) and right (`cols`), -1..1, the edge
    mirrored into the gap (the training translation's reflect fill)."""
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    return np.ascontiguousarray(
        padded[:, 1 - rows : 1 - rows + height, 1 - cols : 1 - cols + width]
    )


def with_flip_translate_tta(
    predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, flipped: np.ndarray
) -> np.ndarray:
    """airbench's multi-crop test-time augmentation: half the flip-averaged probabilities
    (`flipped`, from `with_flip_tta`), half those of the images moved one pixel up-left and
    down-right, each flip-averaged too. Four more passes over the images."""
    moved = [with_flip_tta(predict, shifted(images, step, step))[1] for step in (-1, 1)]
    return flipped / 2 + (moved[0] + moved[1]) / 4


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, k: int) -> float | None:
    """Share of images whose true class is among the k most probable; None when k covers
    every class (the score would be 1.0 whatever the model did)."""
    n_classes = probabilities.shape[1]
    if k >= n_classes:
        return None
    # scikit-learn wants the positive-class column alone for two classes.
    scores = probabilities[:, 1] if n_classes == 2 else probabilities
    return float(top_k_accuracy_score(labels, scores, k=k, labels=np.arange(n_classes)))


def reliability_table(confidence: np.ndarray, correct: np.ndarray, bins: int) -> pd.DataFrame:
    """Per equal-width bin of confidence (the top probability of each image): images, mean
    confidence and accuracy (share of `correct`). Empty bins have NaN confidence and accuracy."""
    # Bin b holds confidences in [b/bins, (b+1)/bins); a confidence of exactly 1 goes in the last.
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(which, weights=correct.astype(np.float64), minlength=bins) / count
    edges = np.linspace(0.0, 1.0, bins + 1)
    return pd.DataFrame(
        {
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "images": count,
            "mean_confidence": mean_confidence,
            "accuracy": accuracy,
        }
    )


def expected_calibration_error(table: pd.DataFrame) -> float:
    """Image-weighted mean gap between confidence and accuracy over the bins of
    `reliability_table` (Guo et al., 2017)."""
    used = table[table["images"] > 0]
    if used.empty:
        raise StageError("no images to compute the calibration error on")
    gap = (used["accuracy"] - used["mean_confidence"]).abs()
    return float((gap * used["images"]).sum() / used["images"].sum())


def coarse_groups(hierarchy: Mapping[str, str], classes: list[str], source: str) -> np.ndarray:
    """Coarse group index of each class, from a class name -> group name mapping."""
    missing = [name for name in classes if name not in hierarchy]
    if missing:
        raise StageError(f"{source}: no coarse group for class(es) {missing[:5]}")
    groups = sorted({hierarchy[name] for name in classes})
    return np.array([groups.index(hierarchy[name]) for name in classes], dtype=np.int64)


def coarse_accuracy(labels: np.ndarray, predicted: np.ndarray, groups: np.ndarray) -> float:
    """Share of predictions in the true class's coarse group (e.g. CIFAR-100 superclass)."""
    return float((groups[labels] == groups[predicted]).mean())
