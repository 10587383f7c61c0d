"""imgflow/training/callbacks.py, driven by a fake clock: no test waits for real time."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from imgflow.training.callbacks import (
    BudgetClock,
    EpochTimer,
    LearningRateLogger,
    Lookahead,
    TimeBudget,
)


class FakeClock:
    """Each reading is `step` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


def run(callback: keras.callbacks.Callback, epochs: int = 10) -> dict[str, list[float]]:
    x = np.zeros((8, 2), np.float32)
    return (
        tiny_model()
        .fit(x, x[:, :1], batch_size=4, epochs=epochs, callbacks=[callback], verbose=0)
        .history
    )


def test_time_budget_stops_training_once_spent() -> None:
    budget = TimeBudget(max_minutes=1, clock=FakeClock(step=10))  # 10 s per clock reading
    history = run(budget)
    assert budget.stopped and 1 <= len(history["loss"]) < 10


def test_time_budget_leaves_a_fast_run_alone() -> None:
    budget = TimeBudget(max_minutes=60, clock=FakeClock(step=0.001))
    assert len(run(budget, epochs=3)["loss"]) == 3 and not budget.stopped


def test_time_budget_stops_before_an_epoch_that_would_not_fit() -> None:
    clock = FakeClock(step=0)
    budget = TimeBudget(max_minutes=1, clock=clock)
    budget.set_model(tiny_model())
    budget.on_train_begin()
    clock.now = 35  # one epoch took 35 s: a second would end at 70 s, past the 60 s budget
    budget.on_epoch_end(0)
    assert budget.stopped


def test_budget_clock_sets_the_step_the_share_of_the_budget_spent_stands_for() -> None:
    clock = FakeClock(step=0)
    budget = TimeBudget(max_minutes=1, clock=clock)
    budget_clock = BudgetClock(budget, total_steps=200)
    budget.on_train_begin()
    clock.now = 15  # a quarter of the minute
    budget_clock.on_train_batch_begin(0)
    assert float(budget_clock.steps.numpy()) == pytest.approx(50)
    # lookahead's progress: the further on of the budget's share and the steps' share
    assert budget_clock.progress(20) == pytest.approx(0.25)
    assert budget_clock.progress(100) == pytest.approx(0.5)
    clock.now = 90  # past the budget: the schedule's last step, not beyond
    budget_clock.on_train_batch_begin(1)
    assert float(budget_clock.steps.numpy()) == pytest.approx(200)


def test_epoch_timer_records_each_epoch() -> None:
    timer = EpochTimer(clock=FakeClock(step=2))
    run(timer, epochs=3)
    assert timer.seconds == [2, 2, 2]


def test_learning_rate_logger_adds_the_rate_to_the_history() -> None:
    assert run(LearningRateLogger(), epochs=2)["learning_rate"] == pytest.approx([0.01, 0.01])


def test_lookahead_averages_every_n_steps_with_the_ramped_decay() -> None:
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    kernel = model.layers[0].kernel
    lookahead = Lookahead(total_steps=10, every=5, decay=0.5)
    lookahead.set_model(model)
    lookahead.on_train_begin()  # the slow copy starts at 0
    kernel.assign([[1.0]])  # as if the optimiser had moved the weight
    for batch in range(4):
        lookahead.on_train_batch_end(batch)
    assert float(kernel.numpy()[0, 0]) == 1.0  # untouched between averagings
    lookahead.on_train_batch_end(4)  # step 5: decay 0.5 x (5 / 10)^3 = 0.0625
    assert float(kernel.numpy()[0, 0]) == pytest.approx(0.9375)
    kernel.assign([[2.0]])
    for batch in range(5, 10):
        lookahead.on_train_batch_end(batch)  # step 10: the full decay, 0.5
    assert float(kernel.numpy()[0, 0]) == pytest.approx(0.5 * 0.9375 + 0.5 * 2.0)


def test_lookahead_ramps_its_decay_by_the_progress_it_is_given() -> None:
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    kernel = model.layers[0].kernel
    # step 1 of 100 by the steps, but all the way by the progress (as if the budget were spent)
    lookahead = Lookahead(total_steps=100, every=1, decay=0.5, progress=lambda step: 1.0)
    lookahead.set_model(model)
    lookahead.on_train_begin()
    kernel.assign([[1.0]])
    lookahead.on_train_batch_end(0)
    assert float(kernel.numpy()[0, 0]) == pytest.approx(0.5)  # full decay, not 0.5 x 0.01^3


def test_live_callback_logs_the_rate_under_a_name_no_param_has():
    from imgflow.training.callbacks import live_callback

    class FakeLive:
        def __init__(self) -> None:
            self.logged: dict[str, float] = {}

        def log_metric(self, name: str, value: float) -> None:
            self.logged[name] = value

        def next_step(self) -> None:
            pass

    live = FakeLive()
    logs = {"loss": 0.5, "val_accuracy": 0.9, "learning_rate": 0.01}
    live_callback(live).on_epoch_end(0, logs)
    assert live.logged == {"train/loss": 0.5, "eval/accuracy": 0.9, "train/lr": 0.01}
    assert logs["learning_rate"] == 0.01  # Keras' own logs (History, history.json) keep it
