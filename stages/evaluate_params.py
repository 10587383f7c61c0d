"""`evaluate` and `plot` sections of params.yaml."""

from __future__ import annotations

from pydantic import Field

from stages.param_types import Int, Section


class EvaluateParams(Section):
    batch_size: Int = Field(default=256, gt=0, le=65536)


class PlotParams(Section):
    samples_per_class: Int = Field(default=8, gt=0, le=64)
    misclassified: Int = Field(default=25, ge=0, le=400)
