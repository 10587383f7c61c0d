"""The shared base of every params section: strict whole numbers, unknown keys refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Strict

from imgflow.common.errors import StageError

# Whole numbers are strict: YAML reads `yes`/`true` as a boolean, and lax mode would take it as 1.
Int = Annotated[int, Strict()]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# Strict like `Int`: YAML reads `yes` as a boolean, and lax mode would take it as 1.0.
Number = Annotated[float, Strict()]


class ParamsError(StageError):
    """A parameter file is missing, unparsable, or holds an invalid key or value."""

    # Under `dvc repro` or `dvc exp run` DVC has already deleted the stage's outputs by now.
    hint = "fix it, or get the last good run back: git checkout params.yaml && dvc checkout"
