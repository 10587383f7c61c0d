"""The `evaluate` and `plot` sections: defaults, and every bad value named by its dotted key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgflow.params.evaluate import EvaluateParams
from imgflow.params.loader import parse_params
from imgflow.params.plot import PlotParams
from imgflow.params.types import ParamsError

PARAMS_YAML = Path(__file__).resolve().parents[3] / "params.yaml"


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(PARAMS_YAML.read_text()))


def error_for(raw: dict[str, Any]) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    return str(info.value)


def test_defaults_grade_30_and_50_errors_per_1000_and_use_no_tta() -> None:
    params = EvaluateParams()
    assert (params.error_grades.acceptable, params.error_grades.needs_work) == (30, 50)
    assert params.tta == "none" and params.top_k == 5 and params.calibration_bins == 15


def test_shipped_params_yaml_parses_both_sections(raw: dict[str, Any]) -> None:
    params = parse_params(raw)
    assert isinstance(params.evaluate, EvaluateParams)
    assert isinstance(params.plot, PlotParams)


def test_grade_limits_must_rise_and_both_keys_are_named(raw: dict[str, Any]) -> None:
    raw["evaluate"]["error_grades"] = {"acceptable": 50, "needs_work": 30}
    message = error_for(raw)
    assert "evaluate.error_grades:" in message
    assert "acceptable" in message and "needs_work" in message


def test_unknown_grade_key_is_named(raw: dict[str, Any]) -> None:
    raw["evaluate"]["error_grades"] = {"acceptable": 30, "needs_work": 50, "failing": 80}
    assert "evaluate.error_grades.failing: unknown key" in error_for(raw)


def test_unknown_tta_is_named_with_its_value(raw: dict[str, Any]) -> None:
    raw["evaluate"]["tta"] = "rotate"
    message = error_for(raw)
    assert "evaluate.tta:" in message and "'rotate'" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [("top_k", 0), ("calibration_bins", 1), ("calibration_bins", True), ("confused_pairs", -1)],
)
def test_out_of_range_evaluate_value_is_named(raw: dict[str, Any], key: str, value: Any) -> None:
    raw["evaluate"][key] = value
    assert f"evaluate.{key}:" in error_for(raw)


def test_boolean_grade_limit_is_refused(raw: dict[str, Any]) -> None:
    raw["evaluate"]["error_grades"] = {"acceptable": True, "needs_work": 50}
    assert "evaluate.error_grades.acceptable:" in error_for(raw)


def test_negative_confidently_wrong_count_is_named(raw: dict[str, Any]) -> None:
    raw["plot"]["confidently_wrong"] = -1
    assert "plot.confidently_wrong:" in error_for(raw)
