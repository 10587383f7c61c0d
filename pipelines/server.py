"""A local Prefect server in a session of its own, for `imgflow run` and `imgflow retrain`.

Prefect's own temporary server runs in the caller's process group, so the Ctrl-C a terminal
sends to that group stops it too, and the interrupted flow then waits on a dead API. Started
here with `prefect server start` in its own session, it outlives the Ctrl-C long enough for the
flow to record how it ended, and is stopped when the command ends, or when it dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from imgflow.pipelines.dvc_runner import signal_group

STARTUP_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 10
CONFIRM_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(host: str, port: int, ui: bool) -> list[str]:
    prefect = str(Path(sys.executable).with_name("prefect"))
    command = [prefect, "server", "start", "--host", host, "--port", str(port)]
    return command + ([] if ui else ["--no-ui"])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server start exited with status {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/api/health", timeout=5) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"the Prefect server at {url} did not answer in {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    signal_group(process, signal.SIGTERM, STOP_TIMEOUT_SECONDS)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stopped_with(parent: int) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGTERM when `parent` dies, even by SIGKILL, which leaves no
    chance to stop it otherwise (its own session shields it from the terminal's signals)."""

    def arrange() -> None:
        with contextlib.suppress(OSError, AttributeError):  # not Linux: stopped as before only
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API to use: PREFECT_API_URL when set, else a local server started for the
    duration (its URL is put in PREFECT_API_URL). Call before Prefect is imported."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        server_command("127.0.0.1", int(url.rsplit(":", 1)[1]), ui=False),
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=stopped_with(os.getpid()),
    )
    try:
        wait_until_up(url, process, STARTUP_TIMEOUT_SECONDS)
        # Another process may have taken the port between free_port() and the bind: then this
        # server exits at once, and what answered is someone else's.
        time.sleep(CONFIRM_SECONDS)
        if process.poll() is not None:
            raise RuntimeError(f"prefect server start could not bind {url}; try again")
        os.environ["PREFECT_API_URL"] = f"{url}/api"
        yield os.environ["PREFECT_API_URL"]
    finally:
        drain_prefect_workers()
        os.environ.pop("PREFECT_API_URL", None)
        stop(process)


DRAIN_TIMEOUT_SECONDS = 5


def drain_prefect_workers() -> None:
    """Send the logs and events Prefect still holds while the server is up: at exit its workers
    would retry a stopped server for over a minute before giving up."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=DRAIN_TIMEOUT_SECONDS)
