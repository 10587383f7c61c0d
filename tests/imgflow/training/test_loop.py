"""imgflow/training/loop.py: fit and make_optimizer on a toy problem: seeds, precision, losses,
stopping, fine-tuning, lookahead and schedules."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from imgflow.common.errors import StageError
from imgflow.common.hardware import Hardware
from imgflow.training.loop import fit, make_optimizer
from tests.imgflow.training.helpers import small, toy_split
from tests.imgflow.training.test_callbacks import FakeClock


def test_fit_learns_a_separable_toy_problem() -> None:
    training = fit(toy_split(64, 0), toy_split(32, 1), 2, small(epochs=5))
    history = training.history
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert len(history["loss"]) == 5 and len(training.seconds_per_epoch) == 5
    assert max(history["val_accuracy"]) >= 0.9 and training.stopped_by == "epochs"


def test_same_seed_gives_same_weights() -> None:
    first = fit(toy_split(32, 0), toy_split(16, 1), 2, small()).model
    second = fit(toy_split(32, 0), toy_split(16, 1), 2, small()).model
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("flags", "compute_dtype"), [({"avx2"}, "float32"), ({"avx2", "avx512_bf16"}, "bfloat16")]
)
def test_auto_precision_is_decided_for_the_hardware(flags: set[str], compute_dtype: str) -> None:
    hardware = Hardware("test CPU", frozenset(flags))
    training = fit(
        toy_split(16, 0), toy_split(8, 1), 2, small(mixed_precision="auto"), hardware=hardware
    )
    dense = training.model.layers[-2]
    assert dense.compute_dtype == compute_dtype
    assert training.precision == ("none" if compute_dtype == "float32" else "bfloat16")
    assert training.precision_reason.startswith("auto: the CPU has")


def test_sgd_optimizer_uses_the_configured_momentum_and_nesterov() -> None:
    optimizer = make_optimizer(small(optimizer="sgd", momentum=0.8, learning_rate=0.05))
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.nesterov and optimizer.momentum == pytest.approx(0.8)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert not make_optimizer(small(optimizer="sgd", nesterov=False)).nesterov


def test_adam_is_the_default_optimizer() -> None:
    assert isinstance(make_optimizer(small()), keras.optimizers.Adam)


def test_empty_validation_split_is_refused() -> None:
    empty = (np.zeros((0, 8, 8, 1), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(StageError, match="val"):
        fit(toy_split(16, 0), empty, 2, small())


def first_epoch_loss(train: tuple[np.ndarray, np.ndarray], **overrides: object) -> float:
    params = small(epochs=1, batch_size=64, learning_rate=1e-9, **overrides)  # ~no learning
    return fit(train, toy_split(8, 1), 2, params).history["loss"][0]


def test_balanced_class_weights_change_the_loss_on_imbalanced_data() -> None:
    images, labels = toy_split(64, 0)
    keep = (labels == 0) | (np.arange(64) < 8)  # 32 dark, 4 bright
    imbalanced = (images[keep], labels[keep])
    plain = first_epoch_loss(imbalanced)
    assert first_epoch_loss(imbalanced, class_weight="balanced") != pytest.approx(plain, rel=1e-3)


@pytest.fixture(scope="module")
def plain_loss() -> float:
    return first_epoch_loss(toy_split(32, 0))


def test_label_smoothing_changes_the_loss(plain_loss: float) -> None:
    smoothed = first_epoch_loss(toy_split(32, 0), label_smoothing=0.3)
    assert smoothed != pytest.approx(plain_loss, rel=1e-3)


def test_l2_regularisation_adds_to_the_loss(plain_loss: float) -> None:
    assert first_epoch_loss(toy_split(32, 0), regularization={"l2": 0.01}) > plain_loss


def test_early_stopping_stops_and_keeps_the_best_epoch() -> None:
    # Rate 10 with Adam wrecks the model after its first epoch: val accuracy cannot improve.
    params = small(epochs=8, learning_rate=10.0, early_stopping={"patience": 1})
    training = fit(toy_split(32, 0), toy_split(16, 1), 2, params)
    val = training.history["val_accuracy"]
    assert training.stopped_by == "early_stopping" and len(val) < 8
    x_val, y_val = toy_split(16, 1)
    predicted = training.model.predict(x_val, verbose=0).argmax(axis=1)
    assert np.mean(predicted == y_val) == pytest.approx(max(val))


def test_max_minutes_stops_cleanly_keeping_the_best_model() -> None:
    params = small(epochs=20, max_minutes=1)
    training = fit(toy_split(32, 0), toy_split(16, 1), 2, params, clock=FakeClock(step=10))
    assert training.stopped_by == "max_minutes" and len(training.history["loss"]) < 20


def test_fit_to_time_ends_a_run_the_budget_cuts_short_at_a_decayed_rate() -> None:
    def last_rate(fit_to_time: bool) -> tuple[str, float]:
        schedule = {"name": "one_cycle", "warmup_epochs": 1, "fit_to_time": fit_to_time}
        params = small(epochs=20, batch_size=4, learning_rate=0.1, max_minutes=1, schedule=schedule)
        training = fit(toy_split(32, 0), toy_split(16, 1), 2, params, clock=FakeClock(step=1))
        return training.stopped_by, training.history["learning_rate"][-1]

    # Cut after a few of its 20 epochs, the step-paced rate is still near its peak (0.074);
    # the clock-paced one has followed the minute almost to its end (0.019).
    (step_paced_stop, step_paced_rate), (clock_paced_stop, clock_paced_rate) = (
        last_rate(fit_to_time=False),
        last_rate(fit_to_time=True),
    )
    assert step_paced_stop == clock_paced_stop == "max_minutes"
    assert step_paced_rate > 0.06 and clock_paced_rate < 0.03


def test_a_model_trained_fitted_to_time_saves_and_loads(tmp_path: Path) -> None:
    schedule = {"name": "one_cycle", "fit_to_time": True}
    params = small(epochs=2, max_minutes=1, schedule=schedule)
    model = fit(toy_split(16, 0), toy_split(8, 1), 2, params, clock=FakeClock(step=0.01)).model
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    x_val = toy_split(8, 1)[0]
    np.testing.assert_allclose(loaded.predict(x_val, verbose=0), model.predict(x_val, verbose=0))


def test_fine_tune_phase_runs_its_epochs_at_the_lower_rate() -> None:
    params = small(
        epochs=2, learning_rate=0.01, fine_tune={"epochs": 2, "learning_rate_fraction": 0.1}
    )
    training = fit(toy_split(32, 0), toy_split(16, 1), 2, params)
    assert training.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.001, 0.001])
    assert training.fine_tune_epochs == 2 and len(training.seconds_per_epoch) == 4


def test_fine_tune_phase_turns_on_augmentation_kept_for_it() -> None:
    params = small(
        epochs=1, augmentation={"flip": True, "phases": "fine_tune"}, fine_tune={"epochs": 1}
    )
    model = fit(toy_split(32, 0), toy_split(16, 1), 2, params).model
    assert model.get_layer("augmentation").active


class StartWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs: object = None) -> None:
        self.weights = self.model.get_weights()


def test_lookahead_keeps_the_weights_closer_to_their_start() -> None:
    def travel(lookahead: dict[str, float]) -> float:
        params = small(optimizer="sgd", learning_rate=0.5, lookahead=lookahead)
        start = StartWeights()
        model = fit(toy_split(64, 0), toy_split(16, 1), 2, params, callbacks=[start]).model
        moved = zip(model.get_weights(), start.weights, strict=True)
        return sum(float(np.abs(end - begin).sum()) for end, begin in moved)

    assert travel({"every": 1, "decay": 0.9}) < travel({"every": 0})


def test_schedule_moves_the_logged_learning_rate() -> None:
    params = small(
        epochs=3, learning_rate=0.01, schedule={"name": "step", "step_epochs": 1, "factor": 0.5}
    )
    rates = fit(toy_split(32, 0), toy_split(16, 1), 2, params).history["learning_rate"]
    assert rates == pytest.approx([0.005, 0.0025, 0.00125])  # the rate after each epoch's last step


def test_reduce_on_plateau_lowers_the_rate() -> None:
    params = small(
        epochs=4,
        learning_rate=10.0,
        schedule={"name": "reduce_on_plateau", "patience": 1, "factor": 0.5},
    )
    rates = fit(toy_split(32, 0), toy_split(16, 1), 2, params).history["learning_rate"]
    assert rates[0] == pytest.approx(10.0) and rates[-1] < 10.0
