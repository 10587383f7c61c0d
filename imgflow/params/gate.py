"""The `gate` section: what a retrained challenger must show before it replaces the champion."""

from __future__ import annotations

from pydantic import Field

from imgflow.params.types import Number, Section


class GateParams(Section):
    # Git branch that holds the promoted model: its dvc.lock, params, metrics and gate.json.
    champion_branch: str = Field(default="champion", pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    # The challenger's test accuracy must reach this, champion or not.
    min_accuracy: Number = Field(default=0.0, ge=0, le=1)
    # It must beat the champion's test accuracy by at least this much (0: a tie is enough).
    min_gain: Number = Field(default=0.0, ge=-1, le=1)
    # No class's recall or F1 may fall by more than this against the champion's.
    max_class_drop: Number = Field(default=0.05, ge=0, le=1)
