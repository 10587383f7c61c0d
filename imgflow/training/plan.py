"""The run's length and augmentation, decided from the data where params leave them open.

Each key decided here gets a line saying what it came to and why; train prints them and keeps
them in train_info.json. Planning planned params changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from imgflow.params.train import MAX_EPOCHS, TrainParams
from imgflow.params.types import AUTO

# Schedules whose rate is planned to the last epoch: stopping early would cut off the decay
# their result comes from, so auto early stopping leaves them to run.
PLANNED_SCHEDULES = ("step", "cosine", "one_cycle")
TRANSLATE_SHARE = 16  # auto translate: up to 1/16 of the input side (2 px at 32, 4 at 64)


@dataclass(frozen=True)
class Plan:
    params: TrainParams  # nothing left `auto` or open
    chosen: dict[str, str] = field(default_factory=dict)  # dotted key -> value and reason


def plan_training(
    params: TrainParams, n_train: int, input_side: int, mirror_safe: bool | None = None
) -> Plan:
    """`params` with epochs raised to `min_steps`, early stopping's patience and auto flip and
    translate decided, for `n_train` training images of `input_side` pixels (the shorter side).
    `mirror_safe` is what the source says of mirrored images (None: not known)."""
    chosen: dict[str, str] = {}
    params = _stretched(params, n_train, chosen)
    params = _with_patience(params, chosen)
    params = _with_augmentation(params, input_side, mirror_safe, chosen)
    return Plan(params, chosen)


def _stretched(params: TrainParams, n_train: int, chosen: dict[str, str]) -> TrainParams:
    steps_per_epoch = max(1, math.ceil(n_train / params.batch_size))
    epochs, tune = params.epochs, params.fine_tune.epochs
    steps = (epochs + tune) * steps_per_epoch
    if steps >= params.min_steps:
        return params
    factor = params.min_steps / steps
    new_epochs = min(MAX_EPOCHS, math.ceil(epochs * factor))
    new_tune = math.ceil(tune * factor)
    schedule = params.schedule
    # A warm-up is a share of the run: it stretches with it.
    warmup = schedule.warmup_epochs * new_epochs / epochs
    chosen["epochs"] = (
        f"{new_epochs} (not {epochs}): {n_train} training images make {steps_per_epoch} steps "
        f"per epoch, and the run needs at least min_steps {params.min_steps}"
    )
    if tune:
        chosen["fine_tune.epochs"] = f"{new_tune} (not {tune}), stretched with epochs"
    return params.model_copy(
        update={
            "epochs": new_epochs,
            "fine_tune": params.fine_tune.model_copy(update={"epochs": new_tune}),
            "schedule": schedule.model_copy(update={"warmup_epochs": warmup}),
        }
    )


def _with_patience(params: TrainParams, chosen: dict[str, str]) -> TrainParams:
    stopping = params.early_stopping
    if stopping.patience is not None:
        return params
    if params.schedule.name in PLANNED_SCHEDULES:
        patience = 0
        why = f"0 (off): the {params.schedule.name} schedule is planned to its last epoch"
    elif params.schedule.name == "reduce_on_plateau":
        # Long enough for two cuts of the rate to show what they can do.
        patience = max(3, params.epochs // 4, 2 * params.schedule.patience + 1)
        why = (
            f"{patience}: a quarter of the {params.epochs} epochs, at least 3 and at least "
            f"twice schedule.patience ({params.schedule.patience}) + 1"
        )
    else:
        patience = max(3, params.epochs // 4)
        why = f"{patience}: a quarter of the {params.epochs} epochs (at least 3)"
    chosen["early_stopping.patience"] = why
    return params.model_copy(
        update={"early_stopping": stopping.model_copy(update={"patience": patience})}
    )


def _with_augmentation(
    params: TrainParams, input_side: int, mirror_safe: bool | None, chosen: dict[str, str]
) -> TrainParams:
    augmentation = params.augmentation
    update: dict[str, object] = {}
    if augmentation.flip == AUTO:
        update["flip"] = mirror_safe is not False
        chosen["augmentation.flip"] = {
            False: "off: the source says a mirrored image is not of the same class",
            True: "on: the source's photos keep their class when mirrored",
            None: "on: assumed photos; set false for text, digits or anything mirroring changes",
        }[mirror_safe]
    if augmentation.translate == AUTO:
        shift = max(1, round(input_side / TRANSLATE_SHARE))
        update["translate"] = shift
        chosen["augmentation.translate"] = (
            f"{shift} px: 1/{TRANSLATE_SHARE} of the {input_side}-pixel input side"
        )
    if not update:
        return params
    return params.model_copy(update={"augmentation": augmentation.model_copy(update=update)})
