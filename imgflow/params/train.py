"""`train` section of params.yaml, and each model preset's recommended training defaults.

A key listed in a preset's defaults (`PRESET_DEFAULTS`) takes `null` (or no entry) to mean "the
chosen preset's default"; any value the user writes wins. Inside a nested section the same holds
key by key: `augmentation: {cutout: 8}` keeps the preset's flip and translate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from imgflow.params.types import AUTO, AutoBool, Int, Section, auto_or_int

PresetName = Literal["mlp", "cnn_basic", "cnn_leaky", "fast", "transfer"]
DEFAULT_PRESET = "cnn_basic"
MAX_EPOCHS = 1000
ScheduleName = Literal["constant", "step", "cosine", "one_cycle", "reduce_on_plateau"]
WARMUP_SCHEDULES = ("cosine", "one_cycle")  # the schedules that read warmup_epochs


class ScheduleParams(Section):
    """How the learning rate moves during the main phase (`learning_rate` is the peak)."""

    name: ScheduleName = "constant"
    # cosine, one_cycle: epochs of linear warm-up from 0 to the peak (TrainParams refuses one
    # set for another schedule).
    warmup_epochs: float = Field(default=0.0, ge=0, le=100)
    # cosine, one_cycle: the rate at the last step, as a fraction of the peak.
    final_fraction: float = Field(default=0.0, ge=0, lt=1)
    # step: multiply by `factor` every `step_epochs`; reduce_on_plateau: multiply by `factor`
    # after `patience` epochs without a lower val_loss.
    step_epochs: Int = Field(default=10, gt=0)
    factor: float = Field(default=0.1, gt=0, lt=1)
    patience: Int = Field(default=2, gt=0)
    # cosine, one_cycle with max_minutes: the schedule (and lookahead's ramp) advances by the
    # larger of the share of the steps done and the share of max_minutes spent, so a run the
    # budget ends before its last epoch still ends at a decayed rate, not mid-schedule. The
    # rates then depend on the machine's speed: the same seed no longer gives the same model.
    fit_to_time: bool = False


class RegularizationParams(Section):
    l1: float = Field(default=0.0, ge=0, le=1)  # penalty on every conv/dense kernel
    l2: float = Field(default=0.0, ge=0, le=1)
    # Every dropout layer's rate; null keeps the preset's own rates (0 turns dropout off).
    dropout: float | None = Field(default=None, ge=0, lt=1)


class AugmentationParams(Section):
    """Random changes to training images, done by layers inside the model (off at inference).

    `auto` is decided from the data when training starts (imgflow/training/plan.py)."""

    flip: AutoBool = False  # horizontal flip
    translate: auto_or_int(0, 64) = 0  # random shift up to this many pixels
    # reflect: mirror the edge into the gap; constant: black gap (= pad-and-crop)
    translate_fill: Literal["reflect", "constant"] = "reflect"
    cutout: Int = Field(default=0, ge=0, le=256)  # side of a black square; 0: off
    # all: both phases; fine_tune: only in the fine-tuning phase
    phases: Literal["all", "fine_tune"] = "all"

    @property
    def is_resolved(self) -> bool:
        return AUTO not in (self.flip, self.translate)

    @property
    def enabled(self) -> bool:
        if not self.is_resolved:
            raise ValueError("augmentation flip/translate are auto: plan the training first")
        return bool(self.flip) or int(self.translate) > 0 or self.cutout > 0


class EarlyStoppingParams(Section):
    # Stop after this many epochs without a better val_accuracy; 0: never stop early; null:
    # decided when training starts (imgflow/training/plan.py).
    patience: Int | None = Field(default=None, ge=0)
    min_delta: float = Field(default=0.0, ge=0, lt=1)


class LookaheadParams(Section):
    """Every `every` steps the weights become a slow average of themselves
    (imgflow/training/callbacks.py Lookahead); main phase only."""

    every: Int = Field(ge=0, le=10000)  # steps between averagings; 0: off
    # The slow average's weight at the last step, ramped up from 0 as (step / total)^3.
    decay: float = Field(default=0.95**5, ge=0, lt=1)


class FineTuneParams(Section):
    """A second phase after the main one: all layers trainable, a lower constant rate."""

    epochs: Int = Field(default=0, ge=0, le=1000)  # 0: no second phase
    learning_rate_fraction: float = Field(default=0.1, gt=0, le=1)  # of `learning_rate`


class TransferParams(Section):
    """`transfer` preset only: a MobileNetV2 backbone from keras.applications."""

    # imagenet (downloaded by Keras), null (random start), or a local .h5/.keras weights file
    weights: str | None = "imagenet"
    alpha: Literal[0.35, 0.5, 0.75, 1.0, 1.3, 1.4] = 1.0  # width multiplier
    input_size: Int = Field(default=96, ge=32, le=512)  # images are upsampled to this side

    @field_validator("weights")
    @classmethod
    def _weights_file_exists(cls, weights: str | None) -> str | None:
        if weights not in (None, "imagenet") and not Path(weights).is_file():
            raise ValueError(f"weights file not found: {weights}")
        return weights


class FastParams(Section):
    """`fast` preset only: its network's widths, the main trade of accuracy against time, and
    how hard its fixed whitening layer amplifies the weakest pixel-patch directions."""

    # Filters of the three conv groups (each group: two 3x3 convolutions, one pooling).
    widths: tuple[Int, ...] = (64, 256, 256)
    # Added to every eigenvalue of the 2x2-patch covariance, as a fraction of the mean one, before
    # whitening divides by its square root: directions far weaker than this are scaled up less.
    whiten_epsilon: float = Field(default=5e-4, gt=0, le=100)

    @field_validator("widths")
    @classmethod
    def _three_positive(cls, widths: tuple[int, ...]) -> tuple[int, ...]:
        if len(widths) != 3:
            raise ValueError("needs 3 widths, one per conv group")
        if not all(0 < width <= 2048 for width in widths):
            raise ValueError("every width must be 1..2048")
        return widths


class TrainParams(Section):
    model: PresetName = DEFAULT_PRESET
    # Keys without a default here come from the preset (PRESET_DEFAULTS) unless set.
    epochs: Int = Field(gt=0, le=MAX_EPOCHS)
    # With epochs from the preset, the epochs are raised until the run has at least this many
    # optimisation steps (0: never raised); imgflow/training/plan.py.
    min_steps: Int = Field(ge=0, le=1_000_000)
    batch_size: Int = Field(gt=0, le=8192)
    optimizer: Literal["adam", "sgd"]
    learning_rate: float = Field(gt=0, le=10)
    momentum: float = Field(ge=0, lt=1)  # sgd only
    nesterov: bool = True  # sgd only
    schedule: ScheduleParams = ScheduleParams()
    label_smoothing: float = Field(ge=0, lt=1)
    # balanced: weight each class's loss by n_images / (n_classes * n_in_class)
    class_weight: Literal["none", "balanced"] = "none"
    regularization: RegularizationParams = RegularizationParams()
    augmentation: AugmentationParams = AugmentationParams()
    early_stopping: EarlyStoppingParams = EarlyStoppingParams()
    lookahead: LookaheadParams
    fine_tune: FineTuneParams = FineTuneParams()
    transfer: TransferParams = TransferParams()
    fast: FastParams = FastParams()
    # auto: bfloat16 where the CPU or GPU computes it natively, else none (common/hardware.py)
    mixed_precision: Literal["none", "bfloat16", "auto"]
    jit_compile: bool = False  # XLA
    # Stop cleanly once this much training time is spent (the best model is kept); null: no cap.
    max_minutes: float | None = Field(default=None, gt=0)
    seed: Int = 42

    @model_validator(mode="before")
    @classmethod
    def _fill_preset_defaults(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        model = raw.get("model") or DEFAULT_PRESET
        # An unknown name gets the base defaults, so the one error shown is `train.model`'s.
        defaults = PRESET_DEFAULTS.get(str(model), BASE_DEFAULTS)
        if raw.get("epochs") is not None and raw.get("min_steps") is None:
            # Epochs the user chose are the run's length: no minimum stretches them.
            raw = {**raw, "min_steps": 0}
        merged = with_preset_warmup(merge_defaults(defaults, raw), raw, defaults)
        refuse_unused_warmup(raw, merged)
        return merged

    @model_validator(mode="after")
    def _warmup_within_main_phase(self) -> TrainParams:
        # Only an explicit warm-up can get here (a preset's scales with the epochs): one as
        # long as the run would leave a rate that only rises, a run that looks like training.
        warms_up = self.schedule.name in WARMUP_SCHEDULES
        if warms_up and self.schedule.warmup_epochs >= self.epochs:
            raise ValueError(
                f"schedule.warmup_epochs ({self.schedule.warmup_epochs}) must be below epochs "
                f"({self.epochs}): the {self.schedule.name} schedule would never decay"
            )
        return self

    @model_validator(mode="after")
    def _fit_to_time_has_a_budget_to_fit(self) -> TrainParams:
        if not self.schedule.fit_to_time:
            return self
        if self.schedule.name not in ("cosine", "one_cycle"):
            raise ValueError(
                f"schedule.fit_to_time needs a cosine or one_cycle schedule to stretch over the "
                f"budget, not {self.schedule.name}"
            )
        if self.max_minutes is None:
            raise ValueError("schedule.fit_to_time needs max_minutes: the budget to fit it to")
        if self.fine_tune.epochs:
            raise ValueError(
                f"schedule.fit_to_time gives the main phase all of max_minutes: none would be "
                f"left for fine_tune.epochs ({self.fine_tune.epochs})"
            )
        return self


def refuse_unused_warmup(given: dict[str, Any], merged: dict[str, Any]) -> None:
    """A warm-up the user set (above 0) for a schedule that has none would be silently ignored.

    Judged on `given`, not `merged`: a preset's own warm-up (fast's) is left unused without
    complaint when the user picks another schedule, since the user never asked for it.
    """
    schedule = given.get("schedule")
    warmup = schedule.get("warmup_epochs") if isinstance(schedule, dict) else None
    if not isinstance(warmup, int | float) or isinstance(warmup, bool) or warmup <= 0:
        return  # null, 0, or a bad value the field's own check names
    name = merged["schedule"].get("name")  # a dict: `given` has one, merged with the preset's
    if name in get_args(ScheduleName) and name not in WARMUP_SCHEDULES:
        raise ValueError(
            f"train.schedule.warmup_epochs ({warmup}) is set, but the {name} schedule has no "
            f"warm-up: only {' and '.join(WARMUP_SCHEDULES)} use it (set it to null or 0, or "
            f"choose one of them as train.schedule.name)"
        )


def with_preset_warmup(
    merged: dict[str, Any], given: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    """`merged`, its warm-up the same share of the epochs as in the preset when `given` sets
    the epochs but not the warm-up: fast warms up over the first fifth of however many epochs
    it runs (3 of 15, 0.8 of 4), as airbench does, instead of 3 epochs of any run."""
    epochs, schedule = given.get("epochs"), given.get("schedule") or {}
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= 0:
        return merged  # left to the preset, or wrong: validation names it
    if not isinstance(schedule, dict) or schedule.get("warmup_epochs") is not None:
        return merged
    share = defaults["schedule"]["warmup_epochs"] / defaults["epochs"]
    return {**merged, "schedule": {**merged["schedule"], "warmup_epochs": share * epochs}}


def merge_defaults(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given`, with each key it leaves out or sets to null taken from `defaults` (recursively)."""
    merged = dict(given)
    for key, default in defaults.items():
        value = given.get(key)
        if value is None:
            merged[key] = default
        elif isinstance(default, dict) and isinstance(value, dict):
            merged[key] = merge_defaults(default, value)
    return merged


# Every key a preset may change, with the value presets that do not change it get.
BASE_DEFAULTS: dict[str, Any] = {
    "epochs": 8,
    # Enough updates for a few hundred images to learn from, whatever the batch size.
    "min_steps": 200,
    "batch_size": 64,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "momentum": 0.9,
    "label_smoothing": 0.0,
    "schedule": {"name": "constant", "warmup_epochs": 0.0},
    "regularization": {"l2": 0.0},
    "augmentation": {"flip": AUTO, "translate": AUTO},
    "fine_tune": {"epochs": 0},
    "lookahead": {"every": 0},
    "mixed_precision": "none",
}
PRESET_CHANGES: dict[str, dict[str, Any]] = {
    "mlp": {},
    "cnn_basic": {},
    # Adam 1e-3, batch 128, 40 epochs, shift-and-flip augmentation: the recipe of the model it
    # reproduces (docs/decisions/cnn-presets.md).
    "cnn_leaky": {"epochs": 40, "batch_size": 128, "augmentation": {"flip": True, "translate": 3}},
    # airbench94's recipe (imgflow/models/fast.py), its rates converted from summed to mean
    # losses: lr 1.5e-3 per image in the batch, L2 7.65e-4 (airbench's decay of 0.0153 per
    # 1024 images), momentum 0.85, warm-up over the first fifth. 15 epochs of CIFAR-10 fit a
    # 30-minute budget on the 2-core CPUs it was tuned on; where they would not, max_minutes
    # with schedule.fit_to_time fits the schedule to the budget (docs/decisions/fast-preset.md).
    "fast": {
        "epochs": 15,
        "batch_size": 256,
        "optimizer": "sgd",
        "learning_rate": 0.4,
        "momentum": 0.85,
        "schedule": {"name": "one_cycle", "warmup_epochs": 3.0},
        "label_smoothing": 0.2,
        "regularization": {"l2": 7.65e-4},
        "augmentation": {"flip": True, "translate": 2},
        "lookahead": {"every": 5},
        "mixed_precision": "auto",
    },
    # Frozen backbone first, then everything at a tenth of the rate.
    "transfer": {"epochs": 5, "augmentation": {"flip": True}, "fine_tune": {"epochs": 5}},
}
PRESET_DEFAULTS = {
    name: merge_defaults(BASE_DEFAULTS, changes) for name, changes in PRESET_CHANGES.items()
}
