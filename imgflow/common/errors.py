"""The error every stage raises for bad input, and the wrapper that turns it into a clean exit."""

from __future__ import annotations

import atexit
import errno
import os
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn


class StageError(Exception):
    """Bad input or failed check: the message names the file, key or value at fault."""

    hint: str | None = None  # what to do next, printed on a line of its own


class TransientError(StageError):
    """A failure that running the stage again may not repeat (a network that dropped)."""


# The stage's exit status for a TransientError (sysexits' EX_TEMPFAIL): the flow retries only it.
EXIT_TRANSIENT = 75


# Set to 1 for the full traceback of an error the stage reports in one line.
VERBOSE_ENV = "IMGFLOW_VERBOSE"
# What a person can do about an operating-system error, by its errno.
_OS_ADVICE = {
    errno.ENOSPC: "free some space on that disk, or move the project to one with room",
    errno.EDQUOT: "free some space within your disk quota",
    errno.EROFS: "the file system is read-only: run the pipeline where it can write",
    errno.EACCES: "check the folder's permissions (it must be writable by you)",
    errno.EPERM: "check the folder's permissions (it must be writable by you)",
}


def describe_os_error(exc: OSError) -> str:
    """`<path>: <cause> (<what to do>)` for an OSError a person can act on."""
    path = exc.filename if exc.filename is not None else "(no path)"
    cause = exc.strerror or type(exc).__name__
    advice = _OS_ADVICE.get(exc.errno or 0)
    return f"{path}: {cause}" + (f" ({advice})" if advice else "")


def run_stage(name: str, main: Callable[[], None]) -> NoReturn:
    """Run a stage's `main` and exit; a `StageError` prints `<stage>: error: ...` and exits with
    status 1 (75 for a transient one).

    A full disk or a folder it cannot write to is one such line too, naming the path and the
    cause; IMGFLOW_VERBOSE=1 adds the traceback. Anything else is a bug and keeps its traceback.
    """
    try:
        main()
    except StageError as exc:
        report(name, str(exc) + (f"\n  ({exc.hint})" if exc.hint else ""))
        raise SystemExit(EXIT_TRANSIENT if isinstance(exc, TransientError) else 1) from None
    except OSError as exc:
        if exc.errno not in _OS_ADVICE:
            raise
        report(name, describe_os_error(exc))
        raise SystemExit(1) from None
    exit_without_teardown()


def report(name: str, message: str) -> None:
    if os.environ.get(VERBOSE_ENV) == "1":
        traceback.print_exc()
    print(f"{name}: error: {message}", file=sys.stderr)


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
