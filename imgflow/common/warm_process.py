"""One call run in a child process that imports its slow modules while the parent works.

validate waits on Great Expectations, whose import takes longer than the scan it can overlap
with on CIFAR-10 (docs/decisions/gx-child-process.md). A thread can import it meanwhile, but it
shares the GIL with the scan's main thread, and each slows the other. A child process started
first imports it on another core, untouched, and then runs the checks with it loaded; only the
tables and the outcomes cross between the two (pickled).
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, TypeVar

from imgflow.common.errors import StageError

Result = TypeVar("Result")
JOIN_SECONDS = 5.0  # for the child to exit once it has answered or been let go


class WarmProcessFailed(StageError):
    """The child raised, or ended without an answer; the message carries its traceback."""


class WarmProcess:
    """`with WarmProcess(("great_expectations",)) as warm: ... warm.call(fn, *args)`.

    The child starts importing `modules` on entry; `call` (once) runs `fn(*args)` there and
    returns its result, or raises WarmProcessFailed. `fn` must be a module-level function.
    Enter it before the parent starts threads or pools: a fork then copies no held lock.
    """

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules

    def __enter__(self) -> WarmProcess:
        self._connection, child_end = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve,
            args=(self.modules, child_end, self._connection),
            name="warm-process",
            daemon=True,
        )
        self._process.start()
        child_end.close()  # the parent's copy: without it, recv would never see the child end
        return self

    def call(self, fn: Callable[..., Result], *args: Any) -> Result:
        self._connection.send((fn, args))
        try:
            status, value = self._connection.recv()
        except EOFError:
            self._process.join(JOIN_SECONDS)
            raise WarmProcessFailed(
                f"the {', '.join(self.modules)} process ended without an answer "
                f"(exit code {self._process.exitcode})"
            ) from None
        if status == "error":
            raise WarmProcessFailed(f"in the {', '.join(self.modules)} process:\n{value}")
        return value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._connection.close()  # a child still waiting for a call sees EOF and exits
        self._process.join(JOIN_SECONDS)
        if self._process.is_alive():  # still importing: not worth waiting for
            self._process.terminate()
            self._process.join()


def _serve(modules: tuple[str, ...], connection: Connection, parent_end: Connection) -> None:
    parent_end.close()  # a forked child holds a copy: with it open, it would never see EOF
    try:
        _answer(modules, connection)
    finally:
        # Leave without multiprocessing's clean-up: a forked child inherits the parent's
        # threading state (a Prefect server's threads, in the test suite), and shutting that
        # down fails with exit code 1 after the work is done. Everything went through the pipe.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _answer(modules: tuple[str, ...], connection: Connection) -> None:
    import_error = None
    # Importing makes many objects and no garbage: collection passes would only cost time.
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    except BaseException:  # reported as the answer to the call, which is where it matters
        import_error = traceback.format_exc()
    finally:
        gc.enable()
    try:
        fn, args = connection.recv()
    except EOFError:
        return  # the parent needed nothing after all (it failed first)
    if import_error is not None:
        connection.send(("error", import_error))
        return
    try:
        connection.send(("ok", fn(*args)))
    except BaseException:  # everything goes back to the parent, which raises it with the text
        connection.send(("error", traceback.format_exc()))
