"""imgflow/params/loader.py: the shipped params.yaml loads; every bad key or value is named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgflow.common.errors import StageError
from imgflow.params.loader import Params, load_params, parse_params
from imgflow.params.types import ParamsError

PARAMS_YAML = Path(__file__).resolve().parents[3] / "params.yaml"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return yaml.safe_load(PARAMS_YAML.read_text())


@pytest.fixture
def raw(shipped: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the shipped params.yaml mapping, safe to mutate in one test."""
    return copy.deepcopy(shipped)


def error_for(raw: dict[str, Any]) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    return str(info.value)


def test_shipped_params_yaml_loads():
    params = load_params(PARAMS_YAML)
    assert isinstance(params, Params)
    assert params.data.source == "digits"
    assert params.resize.image_size == "auto" and params.resize.color_mode == "auto"
    assert params.validate_.min_per_class >= 1


def test_params_error_is_a_stage_error():
    assert issubclass(ParamsError, StageError)


def test_unknown_key_in_section_is_named(raw):
    raw["train"]["epoch"] = 3
    message = error_for(raw)
    assert "train.epoch: unknown key" in message


def test_unknown_section_is_named(raw):
    raw["augment"] = {"flip": True}
    assert "augment: unknown key" in error_for(raw)


def test_missing_section_is_named(raw):
    del raw["plot"]
    assert "plot: missing required key" in error_for(raw)


def test_missing_key_without_default_is_named(raw):
    del raw["data"]["source"]
    assert "data.source: missing required key" in error_for(raw)


def test_wrong_type_names_key_and_value(raw):
    raw["train"]["epochs"] = "ten"
    message = error_for(raw)
    assert "train.epochs" in message
    assert "'ten'" in message


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("train", "epochs", 0),
        ("train", "learning_rate", 0),
        ("split", "val_fraction", 1.5),
        ("resize", "color_mode", "CMYK"),
        ("train", "model", "resnet"),
        ("data", "max_per_class", 0),
        ("validate", "min_per_class", 0),
        ("plot", "samples_per_class", 0),
        ("evaluate", "batch_size", 0),
    ],
)
def test_out_of_range_scalar_names_key_and_value(raw, section, key, value):
    raw[section][key] = value
    message = error_for(raw)
    assert f"{section}.{key}:" in message
    assert f"(got {value!r})" in message


def test_image_size_too_small_is_named(raw):
    raw["resize"]["image_size"] = [4, 4]
    message = error_for(raw)
    assert "resize.image_size:" in message
    assert "from 8 to 1024" in message


def test_image_size_needs_two_sides(raw):
    raw["resize"]["image_size"] = [32, 32, 3]
    assert "resize.image_size" in error_for(raw)


def test_split_fractions_leaving_no_training_data_name_both_keys(raw):
    raw["split"]["val_fraction"] = 0.5
    raw["split"]["test_fraction"] = 0.45
    message = error_for(raw)
    assert "split:" in message
    assert "val_fraction" in message
    assert "test_fraction" in message
    assert "0.5 + 0.45" in message


def test_split_fractions_just_below_limit_are_accepted(raw):
    raw["split"]["val_fraction"] = 0.4
    raw["split"]["test_fraction"] = 0.49
    params = parse_params(raw)
    assert params.split.val_fraction + params.split.test_fraction < 0.9


def test_every_bad_key_is_reported_at_once(raw):
    raw["train"]["epochs"] = 0
    raw["evaluate"]["batch_size"] = 0
    message = error_for(raw)
    assert "train.epochs" in message
    assert "evaluate.batch_size" in message


def test_error_message_names_the_source(raw):
    raw["train"]["epochs"] = 0
    with pytest.raises(ParamsError, match=r"^my/params\.yaml: invalid parameters"):
        parse_params(raw, source="my/params.yaml")


def test_non_mapping_is_rejected():
    with pytest.raises(ParamsError, match="expected a mapping of sections, got list"):
        parse_params(["data", "train"])


def test_params_are_frozen(raw):
    params = parse_params(raw)
    with pytest.raises(ValueError):
        params.train.epochs = 99  # type: ignore[misc]


def test_load_params_missing_file_names_path(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ParamsError, match="parameter file not found") as info:
        load_params(missing)
    assert str(missing) in str(info.value)


def test_load_params_invalid_yaml_names_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: [1, 2\n")
    with pytest.raises(ParamsError, match="not valid YAML") as info:
        load_params(bad)
    assert str(bad) in str(info.value)


def test_load_params_empty_file_is_rejected(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ParamsError, match="expected a mapping") as info:
        load_params(empty)
    assert str(empty) in str(info.value)


def test_load_params_bad_value_names_file_and_key(tmp_path, raw):
    raw["resize"]["color_mode"] = "CMYK"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(path) in str(info.value)
    assert "resize.color_mode" in str(info.value)


def test_boolean_for_a_whole_number_is_refused(raw):
    # YAML reads `epochs: yes` as True; it must not quietly become one epoch.
    raw["train"]["epochs"] = True
    with pytest.raises(ParamsError, match=r"train\.epochs.*got True"):
        parse_params(raw)
