"""Run one DVC stage as a subprocess and report whether DVC ran it or skipped it.

Kept free of Prefect so it can be tested and reused on its own; `imgflow.pipelines.flow` wraps it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from imgflow.common.errors import EXIT_TRANSIENT
from imgflow.common.pipeline import STAGES

OUTPUT_TAIL_LINES = 40  # how much of a failed stage's output goes into the error
_RAN = re.compile(r"^Running stage '([\w-]+)'", re.MULTILINE)
# DVC's last line when a stage command fails: "... failed to run: <cmd>, exited with N".
_EXITED = re.compile(r"exited with (-?\d+)\s*$")


class StageFailed(RuntimeError):
    """A DVC stage exited non-zero or ran past its time limit."""

    def __init__(
        self, stage: str, reason: str, output_tail: str, stage_status: int | None = None
    ) -> None:
        super().__init__(f"stage '{stage}' {reason}:\n{output_tail}")
        self.stage = stage
        self.output_tail = output_tail
        self.stage_status = stage_status  # the stage command's own exit status, if it ran

    @property
    def transient(self) -> bool:
        """The stage said another attempt may succeed (a dropped network, not a bad param)."""
        return self.stage_status == EXIT_TRANSIENT


@dataclass(frozen=True)
class StageRun:
    stage: str
    ran: bool  # False: DVC found nothing changed and skipped it
    seconds: float


def stage_environment() -> dict[str, str]:
    """The stage `cmd`s say `python`: make that this interpreter, whatever PATH the caller has."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_stage(
    stage: str,
    project_dir: Path,
    force: bool = False,
    timeout_seconds: float | None = None,
    echo: bool = True,
) -> StageRun:
    """`dvc repro --single-item <stage>` in `project_dir`; DVC decides whether it must run."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    # --wait-for-lock: another DVC command in the same repo makes this one wait, not fail.
    command = [sys.executable, "-m", "dvc", "--wait-for-lock", "repro", "--single-item", stage]
    if force:
        command.append("--force")
    started = time.monotonic()
    # A session of its own, so a timeout can kill the whole group: DVC, the shell it starts and
    # the stage's own process (killing DVC alone would leave training running).
    process = subprocess.Popen(
        command,
        start_new_session=True,
        cwd=project_dir,
        env=stage_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_seconds, kill) if timeout_seconds else None
    if timer:
        timer.start()
    output: list[str] = []
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            tail.append(line.rstrip())
            if echo:
                print(line, end="", flush=True)
        process.wait()
    finally:
        if timer:
            timer.cancel()
    if timed_out.is_set():
        raise StageFailed(stage, f"ran past its limit of {timeout_seconds:.0f}s", "\n".join(tail))
    if process.returncode != 0:
        exited = _EXITED.search(tail[-1]) if tail else None
        raise StageFailed(
            stage,
            f"failed (exit status {process.returncode})",
            "\n".join(tail),
            int(exited.group(1)) if exited else None,
        )
    ran = stage in _RAN.findall("".join(output))
    return StageRun(stage=stage, ran=ran, seconds=round(time.monotonic() - started, 2))
