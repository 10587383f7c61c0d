"""The `validate` section: the quarantine policies and limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from imgflow.params.types import Int, Section


class ValidateParams(Section):
    # Usable images each class must keep in each split. Whatever it is, validate also checks
    # each class has the images split needs (checks.split_pools): one for training and one for
    # each split it carves out, so 3 for a source with no splits of its own.
    min_per_class: Int = Field(default=1, ge=1)
    # What a file that cannot be decoded does: set aside and carry on, or stop the pipeline.
    on_corrupt: Literal["quarantine", "fail"] = "quarantine"
    # The same content under two classes / in two splits: stop, or quarantine and carry on.
    on_label_conflict: Literal["fail", "drop"] = "fail"
    on_leak: Literal["fail", "drop"] = "fail"
    # Pillow's default decompression-bomb limit; larger images are rejected from the header.
    max_image_pixels: Int = Field(default=89_478_485, gt=0)
