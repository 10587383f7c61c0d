"""The error every stage raises for bad input, and the wrapper that turns it into a clean exit."""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from typing import NoReturn


class StageError(Exception):
    """Bad input or failed check: the message names the file, key or value at fault."""


class TransientError(StageError):
    """A failure that running the stage again may not repeat (a network that dropped)."""


# The stage's exit status for a TransientError (sysexits' EX_TEMPFAIL): the flow retries only it.
EXIT_TRANSIENT = 75


def run_stage(name: str, main: Callable[[], None]) -> NoReturn:
    """Run a stage's `main` and exit; a `StageError` prints `<stage>: error: ...` and exits with
    status 1.

    Anything else is a bug and keeps its traceback.
    """
    try:
        main()
    except StageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_TRANSIENT if isinstance(exc, TransientError) else 1) from None
    exit_without_teardown()


def exit_without_teardown() -> NoReturn:
    """End the process once `main` has written and closed (atomically renamed) every output.

    A normal exit then frees every object of every imported module one at a time, with no
    other effect, which is slow after an import as large as Great Expectations'; the OS
    reclaims the memory at once (docs/decisions/fast-exit.md). The exit handlers still run
    first (atexit's, which include logging's flush and `weakref.finalize` clean-ups).
    """
    atexit._run_exitfuncs()  # no public spelling; unchanged since Python 3.0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class SourceError(StageError):
    """The configured source cannot be read or is not in a supported layout."""
