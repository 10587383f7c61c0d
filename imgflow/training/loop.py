"""The training itself: build the preset, compile, fit the main phase and the optional
fine-tuning phase, keep the best epoch by val accuracy. No files except a temporary checkpoint."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from imgflow.common.errors import StageError
from imgflow.common.hardware import Hardware, Precision, choose_precision, detect
from imgflow.models.fast import whiten_stem
from imgflow.models.presets import ModelOptions, build_model
from imgflow.models.transfer import BACKBONE
from imgflow.params.train import TrainParams
from imgflow.training.batches import batches
from imgflow.training.callbacks import (
    BudgetClock,
    Clock,
    EpochTimer,
    LearningRateLogger,
    Lookahead,
    TimeBudget,
)
from imgflow.training.plan import plan_training
from imgflow.training.schedules import FittedToTime, Rate, learning_rate

StoppedBy = Literal["epochs", "early_stopping", "max_minutes"]
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Training:
    model: keras.Model  # with the best epoch's weights
    history: dict[str, list[float]]  # per epoch, both phases: loss, accuracy, val_*, learning_rate
    seconds_per_epoch: list[float]
    stopped_by: StoppedBy
    fine_tune_epochs: int
    precision: Precision  # what `mixed_precision` (perhaps `auto`) came to on this machine
    precision_reason: str
    params: TrainParams  # as planned for the data: what the run really used
    chosen: dict[str, str]  # the keys the plan decided: value and reason


def seed_everything(seed: int) -> None:
    """Same seed, same data, same machine: same weights. Keras draws each layer's default seed
    from Python's global `random` as the model is built, so that holds in a process where no
    other thread draws from it meanwhile (as in a stage's own process under `dvc repro`)."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_optimizer(params: TrainParams, rate: Rate | None = None) -> keras.optimizers.Optimizer:
    rate = params.learning_rate if rate is None else rate
    if params.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=params.momentum, nesterov=params.nesterov)
    return keras.optimizers.Adam(rate)


def model_options(params: TrainParams, precision: Precision) -> ModelOptions:
    return ModelOptions(
        augmentation=params.augmentation,
        dropout=params.regularization.dropout,
        l1=params.regularization.l1,
        l2=params.regularization.l2,
        mixed_precision=precision == "bfloat16",
        transfer=params.transfer,
        fast=params.fast,
    )


def class_weights(labels: np.ndarray, params: TrainParams) -> dict[int, float] | None:
    """balanced: each class's loss weighted by n / (n_classes_present * n_in_class)."""
    if params.class_weight == "none":
        return None
    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    return {int(c): float(w) for c, w in zip(present, weights, strict=True)}


def compile_model(model: keras.Model, params: TrainParams, rate: Rate) -> None:
    model.compile(
        optimizer=make_optimizer(params, rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=params.label_smoothing),
        metrics=["accuracy"],
        jit_compile=params.jit_compile,
    )


def phase_callbacks(params: TrainParams) -> list[keras.callbacks.Callback]:
    callbacks: list[keras.callbacks.Callback] = []
    if params.early_stopping.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                mode="max",
                patience=params.early_stopping.patience,
                min_delta=params.early_stopping.min_delta,
                restore_best_weights=True,
            )
        )
    return callbacks


def main_phase_rate(
    params: TrainParams, steps_per_epoch: int, budget: TimeBudget | None
) -> tuple[Rate, list[keras.callbacks.Callback]]:
    """The main phase's learning rate, and the callbacks that pace it: lookahead, and with
    `schedule.fit_to_time` the clock that moves the schedule by the share of the budget spent."""
    rate = learning_rate(params, steps_per_epoch)
    total_steps = params.epochs * steps_per_epoch
    pacing: list[keras.callbacks.Callback] = []
    progress = None
    if params.schedule.fit_to_time:
        # TrainParams allows it only with max_minutes and a cosine or one_cycle schedule.
        assert budget is not None and isinstance(
            rate, keras.optimizers.schedules.LearningRateSchedule
        )
        clock = BudgetClock(budget, total_steps)
        rate = FittedToTime(rate, clock.steps)
        pacing.append(clock)
        progress = clock.progress
    if params.lookahead.every:
        lookahead = params.lookahead
        pacing.append(Lookahead(total_steps, lookahead.every, lookahead.decay, progress))
    return rate, pacing


def fit(
    train: Split,
    val: Split,
    n_classes: int,
    params: TrainParams,
    callbacks: list[keras.callbacks.Callback] | None = None,
    clock: Clock = time.monotonic,
    hardware: Hardware | None = None,
    mirror_safe: bool | None = None,
) -> Training:
    """Build, compile and fit the configured preset (then fine-tune, if asked); return the model
    restored to its best epoch by val accuracy, and the history. What params leave open is
    planned for this data first (imgflow/training/plan.py; `mirror_safe`: what the source says
    of mirrored images); `mixed_precision: auto` is decided for `hardware` (default: this
    machine's)."""
    (x_train, y_train), (x_val, y_val) = train, val
    if len(x_train) == 0 or len(x_val) == 0:
        raise StageError(f"need train and val images, got {len(x_train)} and {len(x_val)}")
    plan = plan_training(params, len(x_train), min(x_train.shape[1:3]), mirror_safe)
    params = plan.params
    seed_everything(params.seed)
    precision, precision_reason = choose_precision(
        params.mixed_precision, hardware or detect(with_gpus=True)
    )
    options = model_options(params, precision)
    model = build_model(params.model, tuple(x_train.shape[1:]), n_classes, options)
    if params.model == "fast":
        whiten_stem(model, x_train, params.fast.whiten_epsilon)
    one_hot = np.eye(n_classes, dtype=np.float32)  # CategoricalCrossentropy: label smoothing
    fit_args = dict(
        x=batches(x_train, params.batch_size, one_hot[y_train], shuffle_seed=params.seed),
        validation_data=batches(x_val, params.batch_size, one_hot[y_val]),
        class_weight=class_weights(y_train, params),
        shuffle=False,  # `batches` shuffles; Keras would only warn that it cannot
        verbose=2,
    )
    timer = EpochTimer()
    budget = TimeBudget(params.max_minutes, clock) if params.max_minutes else None
    with tempfile.TemporaryDirectory(prefix="imgflow-train-") as scratch:
        best_path = Path(scratch) / "best.weights.h5"
        # One checkpoint across both phases: it remembers the best val accuracy seen so far.
        checkpoint = keras.callbacks.ModelCheckpoint(
            best_path,
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
        )
        # Order matters: the learning rate must be in the logs before DVCLive reads them.
        shared = [LearningRateLogger(), timer, checkpoint, *([budget] if budget else [])]
        plateau = []
        if params.schedule.name == "reduce_on_plateau":
            plateau = [
                keras.callbacks.ReduceLROnPlateau(
                    factor=params.schedule.factor, patience=params.schedule.patience
                )
            ]
        steps_per_epoch = math.ceil(len(x_train) / params.batch_size)
        rate, pacing = main_phase_rate(params, steps_per_epoch, budget)
        compile_model(model, params, rate)
        main_stops = phase_callbacks(params)
        history = model.fit(
            epochs=params.epochs,
            callbacks=[*pacing, *shared, *plateau, *main_stops, *(callbacks or [])],
            **fit_args,
        ).history
        last_stops = main_stops
        done = len(history["loss"])
        fine_tune_epochs = 0
        if params.fine_tune.epochs and not (budget and budget.stopped):
            unfreeze_for_fine_tuning(model)
            compile_model(
                model, params, params.learning_rate * params.fine_tune.learning_rate_fraction
            )
            last_stops = phase_callbacks(params)
            more = model.fit(
                initial_epoch=done,
                epochs=done + params.fine_tune.epochs,
                callbacks=[*shared, *last_stops, *(callbacks or [])],
                **fit_args,
            ).history
            fine_tune_epochs = len(more["loss"])
            history = {key: history[key] + more[key] for key in history}
        model.load_weights(best_path)
    return Training(
        model=model,
        history={key: [float(v) for v in values] for key, values in history.items()},
        seconds_per_epoch=timer.seconds,
        stopped_by=stopped_by(budget, last_stops),
        fine_tune_epochs=fine_tune_epochs,
        precision=precision,
        precision_reason=precision_reason,
        params=params,
        chosen=plan.chosen,
    )


def unfreeze_for_fine_tuning(model: keras.Model) -> None:
    """Everything trainable (a transfer backbone too), augmentation on (the `fine_tune` phase
    setting). Takes effect at the next compile."""
    names = {layer.name for layer in model.layers}
    if BACKBONE in names:
        model.get_layer(BACKBONE).trainable = True
    if "augmentation" in names:
        model.get_layer("augmentation").active = True


def stopped_by(budget: TimeBudget | None, stops: list[keras.callbacks.Callback]) -> StoppedBy:
    if budget is not None and budget.stopped:
        return "max_minutes"
    if any(stop.stopped_epoch > 0 for stop in stops):
        return "early_stopping"
    return "epochs"
