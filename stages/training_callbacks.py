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
