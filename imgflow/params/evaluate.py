"""`evaluate` and `plot` sections of params.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from imgflow.params.types import Int, Number, Section


class ErrorGrades(Section):
    """Upper limits, in errors per 1,000 test images of a class, of each grade. A class with
    at most `acceptable` is acceptable, up to `needs_work` needs work, above that is failing.
    Its wrong predictions per 1,000 predictions of it (1 - precision) are graded by the same
    limits, and the worse grade counts."""

    acceptable: Number = Field(default=30, ge=0, le=1000)
    needs_work: Number = Field(default=50, ge=0, le=1000)

    @model_validator(mode="after")
    def _limits_rise(self) -> ErrorGrades:
        if not self.acceptable < self.needs_work:
            raise ValueError(
                "error_grades.acceptable must be below error_grades.needs_work, got "
                f"{self.acceptable} and {self.needs_work}"
            )
        return self


class EvaluateParams(Section):
    batch_size: Int = Field(default=256, gt=0, le=65536)
    # Which predictions feed the table, report and per-class figures, and which TTA passes run
    # at all: none (no TTA figure), flip (adds accuracy_tta_flip), flip_translate (airbench's
    # multi-crop: also the images moved one pixel, 3x the inference; adds both figures).
    tta: Literal["none", "flip", "flip_translate"] = "none"
    top_k: Int = Field(default=5, ge=1, le=1000)
    # Equal-width confidence bins for the expected calibration error and reliability diagram.
    calibration_bins: Int = Field(default=15, ge=2, le=100)
    confused_pairs: Int = Field(default=10, ge=0, le=1000)
    error_grades: ErrorGrades = ErrorGrades()
