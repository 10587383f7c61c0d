"""imgflow/training/schedules.py: the learning rate at chosen steps, per `train.schedule.name`."""

from __future__ import annotations

from typing import Any

import keras
import pytest

from imgflow.params.train import TrainParams
from imgflow.training.schedules import FittedToTime, OneCycle, learning_rate

STEPS_PER_EPOCH = 10


def rate_at(params: TrainParams, step: int) -> float:
    rate = learning_rate(params, STEPS_PER_EPOCH)
    value = rate(step) if callable(rate) else rate
    return float(keras.ops.convert_to_numpy(value))


def params(**schedule: Any) -> TrainParams:
    return TrainParams(model="mlp", epochs=10, learning_rate=0.1, schedule=schedule)


def test_constant_is_a_plain_number() -> None:
    assert learning_rate(params(name="constant"), STEPS_PER_EPOCH) == 0.1


def test_reduce_on_plateau_starts_from_the_plain_rate() -> None:
    assert learning_rate(params(name="reduce_on_plateau"), STEPS_PER_EPOCH) == 0.1


def test_step_multiplies_by_factor_every_step_epochs() -> None:
    step = params(name="step", step_epochs=3, factor=0.5)
    assert rate_at(step, 29) == pytest.approx(0.1)
    assert rate_at(step, 30) == pytest.approx(0.05)
    assert rate_at(step, 60) == pytest.approx(0.025)


def test_cosine_warms_up_linearly_then_decays_to_the_final_fraction() -> None:
    cosine = params(name="cosine", warmup_epochs=2, final_fraction=0.1)
    assert rate_at(cosine, 0) == pytest.approx(0.0)
    assert rate_at(cosine, 10) == pytest.approx(0.05)
    assert rate_at(cosine, 20) == pytest.approx(0.1)
    assert rate_at(cosine, 60) == pytest.approx(0.1 * (0.1 + 0.9 * 0.5))  # halfway down
    assert rate_at(cosine, 100) == pytest.approx(0.01)


def test_one_cycle_rises_then_falls_linearly() -> None:
    cycle = params(name="one_cycle", warmup_epochs=2, final_fraction=0.0)
    assert rate_at(cycle, 0) == pytest.approx(0.0)
    assert rate_at(cycle, 10) == pytest.approx(0.05)
    assert rate_at(cycle, 20) == pytest.approx(0.1)
    assert rate_at(cycle, 60) == pytest.approx(0.05)
    assert rate_at(cycle, 100) == pytest.approx(0.0, abs=1e-7)
    assert rate_at(cycle, 150) == pytest.approx(0.0, abs=1e-7)  # never below the floor


def test_one_cycle_round_trips_through_keras_serialization() -> None:
    schedule = OneCycle(0.4, 5, 50, 0.02)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(copy, OneCycle) and copy.get_config() == schedule.get_config()


def test_fitted_to_time_runs_at_the_clocks_step_when_the_clock_is_ahead() -> None:
    clock_steps = keras.Variable(60.0, trainable=False)
    schedule = FittedToTime(OneCycle(0.4, 20, 100), clock_steps)
    assert float(schedule(10)) == pytest.approx(0.4 * 40 / 80)  # step 60 of 100, not 10
    clock_steps.assign(100.0)
    assert float(schedule(10)) == pytest.approx(0.0, abs=1e-7)  # budget spent: fully decayed


def test_fitted_to_time_runs_at_the_optimisers_step_when_that_is_ahead() -> None:
    schedule = FittedToTime(OneCycle(0.4, 20, 100), keras.Variable(5.0, trainable=False))
    assert float(schedule(60)) == pytest.approx(0.4 * 40 / 80)


def test_fitted_to_time_saves_as_its_step_based_schedule() -> None:
    schedule = FittedToTime(OneCycle(0.4, 20, 100), keras.Variable(90.0, trainable=False))
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(copy, FittedToTime) and float(copy.clock_steps.numpy()) == 0.0
    assert copy.schedule.get_config() == schedule.schedule.get_config()
