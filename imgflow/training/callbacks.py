"""Callbacks `train` adds to Keras' own: the learning rate and epoch times in the logs, and a
wall-clock budget. Each takes a `clock` so tests can drive time instead of waiting for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras

Clock = Callable[[], float]


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the rate the optimiser used into each epoch's logs (History, DVCLive read them)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch (validation included), across every `fit` it is passed to."""

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        super().__init__()
        self.clock = clock
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = self.clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(self.clock() - self._started)


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `max_minutes` of wall time are spent, counted from the first `fit`
    it joins, so one budget covers the main and fine-tuning phases. It stops between batches
    when the time is up, and at an epoch's end when another epoch as long as the average so far
    would not fit; either way the epoch's validation and checkpoint still run."""

    def __init__(self, max_minutes: float, clock: Clock = time.monotonic) -> None:
        super().__init__()
        self.budget = max_minutes * 60
        self.clock = clock
        self.started: float | None = None
        self.epochs_seen = 0
        self.stopped = False

    def _spent(self) -> float:
        assert self.started is not None
        return self.clock() - self.started

    def spent_fraction(self) -> float:
        """The share of the budget spent, 0 before training starts, at most 1."""
        return 0.0 if self.started is None else min(self._spent() / self.budget, 1.0)

    def _stop(self) -> None:
        self.stopped = True
        self.model.stop_training = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.started is None:
            self.started = self.clock()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._spent() >= self.budget:
            self._stop()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs_seen += 1
        spent = self._spent()
        if spent + spent / self.epochs_seen > self.budget:
            self._stop()


class BudgetClock(keras.callbacks.Callback):
    """Before each batch, sets `steps` to the share of `budget` spent times `total_steps`: the
    step a schedule fitted to the time budget (`schedules.FittedToTime`) has reached by the
    clock. A variable, so the compiled training step reads the new value without retracing."""

    def __init__(self, budget: TimeBudget, total_steps: int) -> None:
        super().__init__()
        self.budget, self.total_steps = budget, total_steps
        self.steps = keras.Variable(0.0, dtype="float32", trainable=False, name="budget_steps")

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.steps.assign(self.budget.spent_fraction() * self.total_steps)

    def progress(self, step: int) -> float:
        """How far the run is after `step` steps: the larger of the steps' and the budget's share
        (for `Lookahead`'s ramp, paced like the schedule)."""
        return max(step / self.total_steps, self.budget.spent_fraction())


class Lookahead(keras.callbacks.Callback):
    """Every `every` steps, the weights (batch-norm statistics included) become a slow average
    of themselves: slow = decay x slow + (1 - decay) x weights, then weights = slow (Zhang et
    al., 2019, in airbench's exponential-average form). The decay ramps up as (step / total)^3
    to `decay` at the last step: no drag while the weights still travel far, averaging out the
    noise of the last steps. Lasts one `fit` of `total_steps` steps; `progress` (default: step
    / total_steps) says how far the run is, for a schedule fitted to a time budget."""

    def __init__(
        self,
        total_steps: int,
        every: int,
        decay: float,
        progress: Callable[[int], float] | None = None,
    ) -> None:
        super().__init__()
        self.every, self.decay = every, decay
        self.progress = progress or (lambda step: step / total_steps)
        self.step = 0
        self.averaged: list[Any] = []
        self.slow: list[Any] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.step = 0
        # Floating-point weights only: seed-generator states and counters are not averaged.
        self.averaged = [v for v in self.model.weights if "float" in str(v.dtype)]
        self.slow = [keras.ops.convert_to_numpy(v) for v in self.averaged]

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.step += 1
        if self.step % self.every:
            return
        decay = self.decay * min(self.progress(self.step), 1.0) ** 3
        for i, variable in enumerate(self.averaged):
            self.slow[i] = decay * self.slow[i] + (1 - decay) * keras.ops.convert_to_numpy(variable)
            variable.assign(self.slow[i])


# Under this name DVCLive's metric cannot be mistaken for the param `train.learning_rate` in
# `dvc exp show` (both would read `train.learning_rate`); history.json keeps Keras' name.
LIVE_RATE_NAME = "lr"


def live_callback(live: Any) -> keras.callbacks.Callback:
    """DVCLive's Keras callback for `live`, logging the learning rate as `lr`."""
    from dvclive.keras import DVCLiveCallback

    class RenamedRate(DVCLiveCallback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            renamed = dict(logs or {})
            if "learning_rate" in renamed:
                renamed[LIVE_RATE_NAME] = renamed.pop("learning_rate")
            super().on_epoch_end(epoch, renamed)

    return RenamedRate(live=live)
