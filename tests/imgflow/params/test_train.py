"""imgflow/params/train.py: preset defaults fill what the user leaves out; bad values are named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgflow.params.loader import parse_params
from imgflow.params.train import BASE_DEFAULTS, PRESET_DEFAULTS, TrainParams, merge_defaults
from imgflow.params.types import ParamsError

SHIPPED = yaml.safe_load((Path(__file__).resolve().parents[3] / "params.yaml").read_text())


def parse_train(**train: Any) -> TrainParams:
    raw = copy.deepcopy(SHIPPED)
    raw["train"] = train
    return parse_params(raw).train


def train_error(**train: Any) -> str:
    with pytest.raises(ParamsError) as info:
        parse_train(**train)
    return str(info.value)


def test_left_out_keys_take_the_presets_defaults() -> None:
    params = parse_train(model="fast")
    assert params.optimizer == "sgd" and params.batch_size == 256 and params.momentum == 0.85
    assert params.schedule.name == "one_cycle" and params.label_smoothing == 0.2
    assert params.augmentation.flip and params.augmentation.translate == 2
    assert params.lookahead.every == 5 and parse_train(model="mlp").lookahead.every == 0
    assert params.mixed_precision == "auto" and parse_train(model="mlp").mixed_precision == "none"


def test_null_means_the_presets_default() -> None:
    params = parse_train(model="cnn_leaky", epochs=None, batch_size=None, learning_rate=None)
    assert (params.epochs, params.batch_size, params.learning_rate) == (40, 128, 1e-3)


def test_a_value_the_user_sets_wins_over_the_preset() -> None:
    params = parse_train(model="fast", optimizer="adam", learning_rate=0.003, epochs=3)
    assert (params.optimizer, params.learning_rate, params.epochs) == ("adam", 0.003, 3)


def test_nested_keys_merge_one_by_one() -> None:
    params = parse_train(model="fast", augmentation={"cutout": 8, "flip": False})
    assert params.augmentation.cutout == 8 and not params.augmentation.flip
    assert params.augmentation.translate == 2  # still the preset's


def test_keys_outside_the_presets_defaults_keep_their_own_null() -> None:
    params = parse_train(model="fast", max_minutes=None)
    assert params.max_minutes is None and params.early_stopping.patience is None


@pytest.mark.parametrize("preset", sorted(PRESET_DEFAULTS))
def test_null_is_accepted_for_every_preset_key_of_every_preset(preset: str) -> None:
    nulls = {
        key: {inner: None for inner in value} if isinstance(value, dict) else None
        for key, value in BASE_DEFAULTS.items()
    }
    assert parse_train(model=preset, **nulls).model == preset


def test_every_preset_has_complete_defaults() -> None:
    for name in PRESET_DEFAULTS:
        assert TrainParams(model=name).model == name


def test_merge_defaults_does_not_change_its_inputs() -> None:
    defaults, given = {"a": {"b": 1, "c": 2}}, {"a": {"b": None}}
    assert merge_defaults(defaults, given) == {"a": {"b": 1, "c": 2}}
    assert given == {"a": {"b": None}}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model", "resnet999"),
        ("epochs", 0),
        ("batch_size", 0),
        ("optimizer", "rmsprop"),
        ("learning_rate", -1.0),
        ("momentum", 1.0),
        ("label_smoothing", 1.0),
        ("class_weight", "auto"),
        ("mixed_precision", "float16"),
        ("max_minutes", 0),
        ("jit_compile", "sometimes"),
    ],
)
def test_bad_top_level_value_names_the_dotted_key(key: str, value: Any) -> None:
    message = train_error(**{key: value})
    assert f"train.{key}:" in message and f"(got {value!r})" in message


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("schedule", "name", "exponential"),
        ("schedule", "warmup_epochs", -1),
        ("schedule", "final_fraction", 1.0),
        ("schedule", "step_epochs", 0),
        ("schedule", "factor", 1.5),
        ("schedule", "patience", 0),
        ("regularization", "l1", -0.1),
        ("regularization", "l2", 2.0),
        ("regularization", "dropout", 1.0),
        ("augmentation", "translate", -2),
        ("augmentation", "translate_fill", "wrap"),
        ("augmentation", "cutout", -1),
        ("augmentation", "phases", "main"),
        ("early_stopping", "patience", -1),
        ("early_stopping", "min_delta", -0.1),
        ("fine_tune", "epochs", -1),
        ("fine_tune", "learning_rate_fraction", 0),
        ("transfer", "alpha", 0.6),
        ("transfer", "input_size", 16),
        ("lookahead", "every", -1),
        ("lookahead", "decay", 1.0),
        ("fast", "widths", [64, 256]),
        ("fast", "widths", [64, 0, 256]),
        ("fast", "whiten_epsilon", 0.0),
        ("fast", "whiten_epsilon", 1000.0),
    ],
)
def test_bad_nested_value_names_the_dotted_key(section: str, key: str, value: Any) -> None:
    message = train_error(model="fast", **{section: {key: value}})
    assert f"train.{section}.{key}:" in message and f"(got {value!r})" in message


def test_unknown_nested_key_is_named() -> None:
    assert "train.augmentation.rotate: unknown key" in train_error(augmentation={"rotate": 10})


def test_strict_whole_numbers_refuse_booleans() -> None:
    assert "train.augmentation.translate:" in train_error(augmentation={"translate": True})


def test_missing_local_weights_file_names_key_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "mobilenet.weights.h5"
    message = train_error(model="transfer", transfer={"weights": str(missing)})
    assert "train.transfer.weights:" in message and str(missing) in message


def test_existing_local_weights_file_and_imagenet_and_null_are_accepted(tmp_path: Path) -> None:
    weights = tmp_path / "mobilenet.weights.h5"
    weights.write_bytes(b"")
    for value in (str(weights), "imagenet", None):
        assert parse_train(model="transfer", transfer={"weights": value}).transfer.weights == value


@pytest.mark.parametrize(("epochs", "warmup"), [(None, 3.0), (15, 3.0), (4, 0.8), (30, 6.0)])
def test_preset_warmup_is_the_same_share_of_any_epochs(epochs: int | None, warmup: float) -> None:
    assert parse_train(model="fast", epochs=epochs).schedule.warmup_epochs == pytest.approx(warmup)


def test_explicit_warmup_is_kept_whatever_the_epochs() -> None:
    params = parse_train(model="fast", epochs=4, schedule={"warmup_epochs": 1.0})
    assert params.schedule.warmup_epochs == 1.0


def test_warmup_as_long_as_the_run_is_refused_naming_both_keys() -> None:
    message = train_error(model="fast", epochs=3, schedule={"warmup_epochs": 3})
    assert "schedule.warmup_epochs (3.0) must be below epochs (3)" in message
    assert "train:" in message


@pytest.mark.parametrize("name", ["constant", "step", "reduce_on_plateau"])
def test_warmup_set_for_a_schedule_without_one_is_refused_naming_both(name: str) -> None:
    message = train_error(model="mlp", schedule={"name": name, "warmup_epochs": 2})
    assert "train.schedule.warmup_epochs (2) is set" in message
    assert f"the {name} schedule has no warm-up" in message


def test_warmup_set_for_the_presets_schedule_without_one_is_refused() -> None:
    message = train_error(model="cnn_basic", schedule={"warmup_epochs": 1.5})  # preset: constant
    assert "train.schedule.warmup_epochs (1.5) is set, but the constant schedule" in message


@pytest.mark.parametrize("name", ["cosine", "one_cycle"])
def test_warmup_set_for_a_schedule_with_one_is_kept(name: str) -> None:
    params = parse_train(model="mlp", schedule={"name": name, "warmup_epochs": 2})
    assert params.schedule.warmup_epochs == 2


@pytest.mark.parametrize("warmup", [None, 0, 0.0])
def test_no_warmup_is_fine_with_any_schedule(warmup: float | None) -> None:
    params = parse_train(model="mlp", schedule={"name": "step", "warmup_epochs": warmup})
    assert params.schedule.warmup_epochs == 0


def test_a_presets_own_warmup_does_not_trip_the_check_for_another_schedule() -> None:
    params = parse_train(model="fast", schedule={"name": "step"})  # fast warms up one_cycle
    assert params.schedule.name == "step"


@pytest.mark.parametrize("preset", sorted(PRESET_DEFAULTS))
def test_every_preset_loads_with_the_shipped_params(preset: str) -> None:
    raw = copy.deepcopy(SHIPPED)
    raw["train"]["model"] = preset
    assert parse_params(raw).train.model == preset


def test_shipped_params_load() -> None:
    assert parse_params(copy.deepcopy(SHIPPED)).train.model == SHIPPED["train"]["model"]


def test_fit_to_time_is_accepted_with_a_budget_and_a_decaying_schedule() -> None:
    params = parse_train(model="fast", max_minutes=30, schedule={"fit_to_time": True})
    assert params.schedule.fit_to_time and params.schedule.name == "one_cycle"


@pytest.mark.parametrize(
    ("train", "expected"),
    [
        ({"model": "fast"}, "schedule.fit_to_time needs max_minutes"),
        (
            {"model": "mlp", "max_minutes": 5, "schedule": {"name": "step"}},
            "needs a cosine or one_cycle schedule to stretch over the budget, not step",
        ),
        (
            {"model": "fast", "max_minutes": 5, "fine_tune": {"epochs": 2}},
            "none would be left for fine_tune.epochs (2)",
        ),
    ],
)
def test_fit_to_time_without_what_it_fits_is_refused(train: dict, expected: str) -> None:
    schedule = {**train.get("schedule", {}), "fit_to_time": True}
    message = train_error(**{**train, "schedule": schedule})
    assert expected in message and "train:" in message
