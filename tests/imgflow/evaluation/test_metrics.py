"""imgflow/evaluation/metrics.py on hand-checkable arrays."""

from __future__ import annotations

import numpy as np
import pytest

from imgflow.common.errors import StageError
from imgflow.evaluation.metrics import (
    coarse_accuracy,
    coarse_groups,
    expected_calibration_error,
    reliability_table,
    shifted,
    top_k_accuracy,
    with_flip_translate_tta,
    with_flip_tta,
)

PROBABILITIES = np.array(
    [
        [0.5, 0.3, 0.2, 0.0],  # true 1: second choice
        [0.1, 0.2, 0.3, 0.4],  # true 0: last choice
        [0.0, 0.1, 0.9, 0.0],  # true 2: first choice
    ]
)
LABELS = np.array([1, 0, 2])


def test_top_k_counts_the_true_class_among_the_k_most_probable() -> None:
    assert top_k_accuracy(LABELS, PROBABILITIES, k=1) == pytest.approx(1 / 3)
    assert top_k_accuracy(LABELS, PROBABILITIES, k=2) == pytest.approx(2 / 3)


def test_top_k_covering_every_class_is_skipped() -> None:
    assert top_k_accuracy(LABELS, PROBABILITIES, k=4) is None


def test_top_1_of_two_classes_is_the_accuracy() -> None:
    two = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    assert top_k_accuracy(np.array([0, 1, 1]), two, k=1) == pytest.approx(2 / 3)


def test_flip_tta_averages_each_image_with_its_mirror() -> None:
    # The "model" gives class 0 the left column's mean brightness: flipping moves the right in.
    images = np.zeros((1, 2, 2, 1), np.uint8)
    images[0, :, 1] = 255

    def predict(batch: np.ndarray) -> np.ndarray:
        left = batch[:, :, 0].mean(axis=(1, 2)) / 255
        return np.stack([left, 1 - left], axis=1)

    plain, flipped = with_flip_tta(predict, images)
    assert plain[0] == pytest.approx([0.0, 1.0])
    assert flipped[0] == pytest.approx([0.5, 0.5])


def test_shifted_moves_images_one_pixel_and_mirrors_the_edge_into_the_gap() -> None:
    images = np.arange(9).reshape(1, 3, 3, 1)
    down_right = shifted(images, 1, 1)[0, :, :, 0]
    assert down_right.tolist() == [[4, 3, 4], [1, 0, 1], [4, 3, 4]]
    up_left = shifted(images, -1, -1)[0, :, :, 0]
    assert up_left.tolist() == [[4, 5, 4], [7, 8, 7], [4, 5, 4]]


def test_flip_translate_tta_weighs_the_flip_half_and_the_two_moves_a_quarter_each() -> None:
    # The "model" gives class 0 the top-left pixel's brightness.
    images = np.zeros((1, 3, 3, 1), np.float64)
    images[0, 0, 0] = 1.0

    def predict(batch: np.ndarray) -> np.ndarray:
        corner = batch[:, 0, 0, 0]
        return np.stack([corner, 1 - corner], axis=1)

    _, flipped = with_flip_tta(predict, images)
    assert flipped[0] == pytest.approx([0.5, 0.5])
    # Moved either way, flipped or not, the corner holds a 0 pixel: class 1 for all four.
    combined = with_flip_translate_tta(predict, images, flipped)
    assert combined[0] == pytest.approx([0.25, 0.75])


def test_reliability_bins_hold_confidence_and_accuracy() -> None:
    confidence = np.array([0.15, 0.95, 0.9, 1.0])
    correct = np.array([False, True, False, True])
    table = reliability_table(confidence, correct, bins=10)
    assert table["images"].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 3]  # 1.0 in the last bin
    assert table.loc[9, "mean_confidence"] == pytest.approx((0.95 + 0.9 + 1.0) / 3)
    assert table.loc[9, "accuracy"] == pytest.approx(2 / 3)
    assert np.isnan(table.loc[5, "accuracy"])


def test_ece_weights_each_bin_gap_by_its_images() -> None:
    table = reliability_table(np.array([0.15, 0.95, 0.9, 1.0]), np.array([0, 1, 0, 1]), 10)
    # bin 1: |0 - 0.15| x 1 image; bin 9: |2/3 - 0.95| x 3 images
    assert expected_calibration_error(table) == pytest.approx((0.15 + 3 * (0.95 - 2 / 3)) / 4)


def test_ece_of_a_perfectly_calibrated_set_is_zero() -> None:
    table = reliability_table(np.full(4, 0.75), np.array([1, 1, 1, 0]), 5)
    assert expected_calibration_error(table) == pytest.approx(0.0)


def test_coarse_accuracy_counts_a_wrong_class_in_the_right_group() -> None:
    classes = ["maple", "oak", "bee"]
    groups = coarse_groups({"maple": "trees", "oak": "trees", "bee": "insects"}, classes, "h")
    # maple->oak counts (same group), bee->maple does not
    assert coarse_accuracy(np.array([0, 2, 2]), np.array([1, 0, 2]), groups) == pytest.approx(2 / 3)


def test_hierarchy_missing_a_class_is_named() -> None:
    with pytest.raises(StageError, match=r"hierarchy.json: no coarse group for .*'bee'"):
        coarse_groups({"maple": "trees"}, ["maple", "bee"], "hierarchy.json")
