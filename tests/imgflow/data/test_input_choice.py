"""imgflow/data/input_choice.py: auto input size and colour mode from the images."""

from __future__ import annotations

import numpy as np
import pytest

from imgflow.data.input_choice import choose_color_mode, choose_image_size


def sizes(n: int, width: int, height: int) -> tuple[list[int], list[int]]:
    return [width] * n, [height] * n


@pytest.mark.parametrize(
    ("n", "width", "height", "side"),
    [
        (1797, 8, 8, 32),  # digits: upsampled
        (60000, 32, 32, 32),  # CIFAR: kept
        (500, 50, 70, 48),  # the largest standard side within the shorter one
        (305, 500, 260, 64),  # a few hundred photos: capped at 64
        (5000, 400, 300, 96),  # thousands: capped at 96
        (20000, 400, 300, 128),  # tens of thousands: the largest side
    ],
)
def test_image_size_follows_the_median_shorter_side_and_the_image_count(
    n: int, width: int, height: int, side: int
) -> None:
    assert choose_image_size(*sizes(n, width, height)).value == (side, side)


def test_image_size_uses_the_median_not_a_few_outliers() -> None:
    widths, heights = sizes(300, 40, 40)
    widths += [3000] * 10
    heights += [3000] * 10
    assert choose_image_size(widths, heights).value == (32, 32)


def test_each_size_choice_says_why() -> None:
    assert "upsampled to 32x32" in choose_image_size(*sizes(10, 8, 8)).why
    capped = choose_image_size(*sizes(305, 500, 260)).why
    assert "median shorter side 260 px" in capped and "305 images: 64x64" in capped
    assert "48x48, the largest" in choose_image_size(*sizes(10, 50, 50)).why


def test_no_images_give_the_smallest_side() -> None:
    assert choose_image_size([], []).value == (32, 32)


def test_colour_mode_is_l_only_when_every_image_is_gray() -> None:
    all_gray = choose_color_mode(np.ones(5, dtype=bool))
    assert all_gray.value == "L" and all_gray.why == "all 5 images are grayscale"
    one_colour = choose_color_mode(np.array([True, True, False]))
    assert one_colour.value == "RGB" and one_colour.why == "1 of 3 images have colour"
    assert choose_color_mode(np.zeros(0, dtype=bool)).value == "RGB"
