"""`resize.image_size: auto` and `resize.color_mode: auto`: the model's input, chosen from the
images validate accepted, each choice with the reason it was made (printed by resize and kept
in train_info.json)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The square sides auto chooses from. 32 is the smallest the conv presets suit (three poolings
# leave 4x4); images smaller than that are upsampled to it.
SIDES = (32, 48, 64, 96, 128)
# The largest side by dataset size: a few hundred photos teach a small model no more at 128
# pixels than at 64, and every doubling of the side costs four times the compute.
SIDE_CAPS = ((2_000, 64), (10_000, 96))  # (fewer usable images than this, largest side)


@dataclass(frozen=True)
class Choice:
    value: tuple[int, int] | str
    why: str


def choose_image_size(widths: Sequence[int], heights: Sequence[int]) -> Choice:
    """A square side from the median shorter side of the images: the largest of SIDES not
    above it (32 for anything smaller), capped by how many images there are."""
    if len(widths) == 0:
        return Choice((SIDES[0], SIDES[0]), "no images to measure: the smallest side")
    shorter = np.minimum(np.asarray(widths), np.asarray(heights))
    median = float(np.median(shorter))
    fitting = [side for side in SIDES if side <= median]
    side = fitting[-1] if fitting else SIDES[0]
    below, cap = next(
        ((below, cap) for below, cap in SIDE_CAPS if len(shorter) < below), (0, SIDES[-1])
    )
    shown = f"{median:g}"
    if side > cap:
        why = (
            f"median shorter side {shown} px, but {len(shorter)} images: {cap}x{cap} "
            f"(larger from {below:,} images)"
        )
        side = cap
    elif not fitting:
        why = f"small images (median shorter side {shown} px): upsampled to {side}x{side}"
    else:
        why = f"median shorter side {shown} px: {side}x{side}, the largest of {SIDES} within it"
    return Choice((side, side), why)


def choose_color_mode(grayscale: np.ndarray) -> Choice:
    """L when every image is grayscale (equal R, G and B, however the file stored it), which
    keeps all there is in a third of the memory; else RGB."""
    total, gray = len(grayscale), int(np.count_nonzero(grayscale))
    if total and gray == total:
        return Choice("L", f"all {total} images are grayscale")
    return Choice("RGB", f"{total - gray} of {total} images have colour")
