"""The shared base of every params section: strict whole numbers, unknown keys refused."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, Strict

from imgflow.common.errors import StageError

# Whole numbers are strict: YAML reads `yes`/`true` as a boolean, and lax mode would take it as 1.
Int = Annotated[int, Strict()]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# Strict like `Int`: YAML reads `yes` as a boolean, and lax mode would take it as 1.0.
Number = Annotated[float, Strict()]

# A value the pipeline decides from the data when the params leave it to it.
AUTO = "auto"


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"expected a whole number from {low} to {high}")
    return value


def auto_or_int(low: int, high: int) -> Any:
    """A whole number from `low` to `high`, or `auto`; one error message for either."""

    def check(value: Any) -> int | str:
        if value == AUTO:
            return AUTO
        try:
            return _whole(value, low, high)
        except ValueError:
            raise ValueError(f"expected auto or a whole number from {low} to {high}") from None

    return Annotated[Any, PlainValidator(check)]


def _auto_or_bool(value: Any) -> bool | str:
    if value == AUTO or isinstance(value, bool):
        return value
    raise ValueError("expected true, false or auto")


AutoBool = Annotated[Any, PlainValidator(_auto_or_bool)]  # bool or AUTO


def _auto_or_size(value: Any) -> tuple[int, int] | str:
    if value == AUTO:
        return AUTO
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            return (_whole(value[0], 8, 1024), _whole(value[1], 8, 1024))
        except ValueError:
            pass
    raise ValueError("expected auto or [height, width], each a whole number from 8 to 1024")


AutoSize = Annotated[Any, PlainValidator(_auto_or_size)]  # (height, width) or AUTO


class ParamsError(StageError):
    """A parameter file is missing, unparsable, or holds an invalid key or value."""

    # Under `dvc repro` or `dvc exp run` DVC has already deleted the stage's outputs by now.
    hint = "fix it, or get the last good run back: git checkout params.yaml && dvc checkout"
