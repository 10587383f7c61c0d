"""`train` section of params.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stages.param_types import Int, Section


class TrainParams(Section):
    model: Literal["mlp", "cnn_basic"] = "cnn_basic"
    epochs: Int = Field(default=12, gt=0, le=1000)
    batch_size: Int = Field(default=64, gt=0, le=8192)
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = Field(default=1e-3, gt=0, le=10)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    seed: Int = 42
