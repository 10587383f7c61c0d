"""The `split` section: fractions, seed, class mapping and balance."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from imgflow.params.types import Int, Section


class SplitParams(Section):
    val_fraction: float = Field(default=0.15, gt=0, lt=1)
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: Int = 42
    # old class name -> new name (merge several into one) or null (drop the class)
    class_map: dict[str, str | None] = Field(default_factory=dict)
    balance: Literal["none", "undersample", "oversample"] = "none"
    max_per_class: Int | None = Field(default=None, gt=0)
    drop_grayscale: bool = False

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> SplitParams:
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError(
                "val_fraction + test_fraction must be below 0.9 to leave training data, got "
                f"{self.val_fraction} + {self.test_fraction}"
            )
        return self
