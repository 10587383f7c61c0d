"""The `plot` section: how many images each figure shows."""

from __future__ import annotations

from pydantic import Field

from imgflow.params.types import Int, Section


class PlotParams(Section):
    samples_per_class: Int = Field(default=8, gt=0, le=64)
    misclassified: Int = Field(default=25, ge=0, le=400)
    confidently_wrong: Int = Field(default=16, ge=0, le=400)
