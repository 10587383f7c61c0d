"""The error every stage raises for bad input, and the wrapper that turns it into a clean exit."""

from __future__ import annotations

import sys
from collections.abc import Callable


class StageError(Exception):
    """Bad input or failed check: the message names the file, key or value at fault."""


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run a stage's `main`; a `StageError` prints `<stage>: error: ...` and exits with status 1.

    Anything else is a bug and keeps its traceback.
    """
    try:
        main()
    except StageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
