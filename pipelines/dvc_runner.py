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
from imgflow.pipelines.keep import discard, keep, restore

OUTPUT_TAIL_LINES = 40  # how much of a failed stage's output goes into the error
_RAN = re.compile(r"^Running stage '([\w-]+)'", re.MULTILINE)
# DVC's last line when a stage command fails: "... failed to run: <cmd>, exited with N".
_EXITED = re.compile(r"exited with (-?\d+)\s*$")
# TensorFlow's start-up lines, which it prints before its log level applies.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|I0000 [\d:. ]+\s+\d+ port\.cc:\d+\] oneDNN custom operations are on\b.*)$"
)
# Seconds a stage gets to stop after Ctrl-C before it is killed.
INTERRUPT_GRACE_SECONDS = 10


class StageFailed(RuntimeError):
    """A DVC stage exited non-zero or ran past its time limit."""

    def __init__(
        self, stage: str, reason: str, output_tail: str, stage_status: int | None = None
    ) -> None:
        self.error = error_lines(stage, output_tail) or output_tail
        super().__init__(f"stage '{stage}' {reason}:\n{self.error}")
        self.stage = stage
        self.reason = reason
        self.output_tail = output_tail
        self.stage_status = stage_status  # the stage command's own exit status, if it ran

    @property
    def transient(self) -> bool:
        """The stage said another attempt may succeed (a dropped network, not a bad param)."""
        return self.stage_status == EXIT_TRANSIENT


def error_lines(stage: str, output: str) -> str:
    """The stage's own `<stage>: error: ...` lines and their indented continuations."""
    lines, keeping = [], False
    for line in output.splitlines():
        if line.startswith(f"{stage}: error:"):
            keeping = True
        elif not line.startswith((" ", "\t")):
            keeping = False
        if keeping:
            lines.append(line)
    return "\n".join(lines)


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
    keep(project_dir, stage)
    try:
        output = _run_dvc(stage, command, project_dir, timeout_seconds, echo)
    except BaseException:
        restored = restore(project_dir, stage)
        if restored and echo:
            print(f"{stage}: kept the last good {', '.join(restored)} (dvc.lock records them)")
        raise
    discard(project_dir, stage)
    ran = stage in _RAN.findall(output)
    return StageRun(stage=stage, ran=ran, seconds=round(time.monotonic() - started, 2))


def _run_dvc(
    stage: str, command: list[str], project_dir: Path, timeout_seconds: float | None, echo: bool
) -> str:
    """Run DVC for one stage, echoing its output; its whole output, or StageFailed."""
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
            if _NOISE.match(line.rstrip("\n")):
                continue
            output.append(line)
            tail.append(line.rstrip())
            if echo:
                print(line, end="", flush=True)
        process.wait()
    except BaseException:  # Ctrl-C here: the stage's own session did not get it
        interrupt(process)
        raise
    finally:
        if timer:
            timer.cancel()
    if timed_out.is_set():
        raise StageFailed(stage, f"ran past its limit of {timeout_seconds:.0f}s", "\n".join(tail))
    if process.returncode != 0:
        exited = _EXITED.search(tail[-1]) if tail else None
        status = int(exited.group(1)) if exited else None
        raise StageFailed(
            stage,
            f"failed (exit status {status if status is not None else process.returncode})",
            "\n".join(tail),
            status,
        )
    return "".join(output)


def interrupt(process: subprocess.Popen[str]) -> None:
    """Pass Ctrl-C on to the stage's process group; kill it if it has not stopped in time."""
    signal_group(process, signal.SIGINT, INTERRUPT_GRACE_SECONDS)


def signal_group(process: subprocess.Popen, first: int, grace_seconds: float) -> None:
    """Send `first` to the process's group (its own session); SIGKILL it after the grace."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, first)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
