"""Learning-rate schedules for `train.schedule`, from Keras' own where Keras has one."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from imgflow.params.train import TrainParams

Rate = float | keras.optimizers.schedules.LearningRateSchedule


@keras.saving.register_keras_serializable(package="imgflow")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak` over `warmup_steps`, then linear decay to
    `peak * final_fraction` at `total_steps`: the triangle of Page's ResNet-9 and airbench.
    Keras has the cosine form (CosineDecay with warm-up) but not this one."""

    def __init__(
        self, peak: float, warmup_steps: int, total_steps: int, final_fraction: float = 0.0
    ) -> None:
        self.peak, self.warmup_steps, self.total_steps = peak, warmup_steps, total_steps
        self.final_fraction = final_fraction

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        rising = self.peak * step / max(self.warmup_steps, 1)
        progress = (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1)
        floor = self.peak * self.final_fraction
        falling = ops.maximum(self.peak - (self.peak - floor) * progress, floor)
        return ops.where(step < self.warmup_steps, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "final_fraction": self.final_fraction,
        }


@keras.saving.register_keras_serializable(package="imgflow")
class FittedToTime(keras.optimizers.schedules.LearningRateSchedule):
    """`schedule` evaluated at the larger of the optimiser's step and `clock_steps`, the step
    that the share of the time budget spent stands for (`training_callbacks.BudgetClock` sets
    it before each batch; the compiled step reads the variable). A saved model keeps only the
    step-based schedule: the clock belongs to the run that trained it."""

    def __init__(
        self,
        schedule: keras.optimizers.schedules.LearningRateSchedule,
        clock_steps: keras.Variable | None = None,
    ) -> None:
        self.schedule = schedule
        if clock_steps is None:
            clock_steps = keras.Variable(0.0, dtype="float32", trainable=False, name="clock_steps")
        self.clock_steps = clock_steps

    def __call__(self, step: Any) -> Any:
        return self.schedule(ops.maximum(ops.cast(step, "float32"), self.clock_steps))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FittedToTime:
        return cls(keras.saving.deserialize_keras_object(config["schedule"]))


def learning_rate(params: TrainParams, steps_per_epoch: int) -> Rate:
    """The optimiser's learning rate for the main phase: a number, or a per-step schedule."""
    schedule, peak = params.schedule, params.learning_rate
    total = params.epochs * steps_per_epoch
    warmup = min(round(schedule.warmup_epochs * steps_per_epoch), total - 1)
    if schedule.name == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            peak, schedule.step_epochs * steps_per_epoch, schedule.factor, staircase=True
        )
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else peak,
            decay_steps=total - warmup,
            alpha=schedule.final_fraction,
            warmup_target=peak if warmup else None,
            warmup_steps=warmup,
        )
    if schedule.name == "one_cycle":
        return OneCycle(peak, warmup, total, schedule.final_fraction)
    return peak  # constant; reduce_on_plateau lowers it from a callback
