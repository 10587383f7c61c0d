"""Typed, validated parameters: `params.yaml` is read once into these objects.

An unknown key, a wrong type or an out-of-range value raises `ParamsError` naming the key's full
dotted path and the offending value, before any stage does work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    Field,
    ValidationError,
)

from imgflow.params.data import DataParams
from imgflow.params.evaluate import EvaluateParams
from imgflow.params.gate import GateParams
from imgflow.params.plot import PlotParams
from imgflow.params.resize import ResizeParams
from imgflow.params.split import SplitParams
from imgflow.params.train import TrainParams
from imgflow.params.types import ParamsError, Section
from imgflow.params.validate import ValidateParams

DEFAULT_PARAMS_PATH = Path("params.yaml")


class Params(Section):
    data: DataParams
    validate_: ValidateParams = Field(alias="validate")
    resize: ResizeParams
    split: SplitParams
    train: TrainParams
    evaluate: EvaluateParams
    plot: PlotParams
    # Read by `imgflow retrain`, never by a stage: optional, so older params files still load.
    gate: GateParams = GateParams()


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "<root>"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing required key"
    if isinstance(error.get("input"), dict):  # a cross-field check: the message names the keys
        return f"{key}: {message}"
    return f"{key}: {message} (got {error.get('input')!r})"


def parse_params(raw: Any, source: str = "params") -> Params:
    """Validate a parsed YAML mapping into `Params`, naming each bad key and value."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(err) for err in exc.errors())
        raise ParamsError(f"{source}: invalid parameters:\n  {problems}") from None


def load_params(path: Path | str = DEFAULT_PARAMS_PATH) -> Params:
    """Read and validate a params file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))
