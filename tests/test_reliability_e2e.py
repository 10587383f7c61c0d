"""The README's reliability promises, broken on purpose on the real pipeline (tiny digits).

A stage interrupted (SIGINT) or killed (SIGKILL) under `dvc repro` or `imgflow run`: the next
run completes with no manual clean-up and its outputs are byte for byte those of an
uninterrupted run; no temp file outlives the stage's next run (or the next `imgflow run`).
Under `imgflow run` an interrupted stage's last good outputs are back at once; after a kill,
at the next run's start. A bad param stops `imgflow run` before DVC deletes anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgflow.pipelines.keep import KEEP_ROOT
from tests.conftest import copy_project, dvc, git
from tests.e2e_helpers import declared_outputs, set_params, stage_process

pytestmark = pytest.mark.e2e
# Outputs that record when, not what: training's timings and DVCLive's step timestamps.
TIMED = re.compile(r"(models/train_info\.json|reports/train/plots/.*\.tsv)$")
TEMP = re.compile(r"^\..+\.(tmp.*|old)$")


def digests(project: Path) -> dict[str, str]:
    """Every declared output file by content, the timed ones aside."""
    found = {}
    for output in declared_outputs(project):
        files = sorted(output.rglob("*")) if output.is_dir() else [output]
        for path in files:
            rel = path.relative_to(project).as_posix()
            if path.is_file() and not TIMED.search(rel):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def temp_files(project: Path) -> list[str]:
    found = [
        p.relative_to(project).as_posix()
        for folder in ("data", "models", "reports")
        for p in (project / folder).rglob("*")
        if TEMP.match(p.name)
    ]
    keep = project / KEEP_ROOT
    return found + ([str(KEEP_ROOT)] if keep.exists() and any(keep.iterdir()) else [])


def environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def interrupt_during(project: Path, command: list[str], stage: str, sig: int) -> str:
    """Start `command`, send `sig` once `stage`'s process runs; its output.

    SIGINT goes to the command's process group, as a terminal's Ctrl-C does. SIGKILL goes to
    every process of the run: the command's group and the session `imgflow` runs DVC in."""
    child = subprocess.Popen(
        command,
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while (pid := stage_process(stage, under=child.pid)) is None:
        assert child.poll() is None, f"{command} ended before {stage} started"
        assert time.monotonic() < deadline, f"{stage} never started"
        time.sleep(0.05)
    time.sleep(0.2)  # into the stage: DVC has deleted its outputs before starting it
    with contextlib.suppress(ProcessLookupError):  # a fast stage may be done already
        groups = {child.pid, os.getpgid(pid)} if sig == signal.SIGKILL else {child.pid}
        for group in groups:
            os.killpg(group, sig)
    output, _ = child.communicate(timeout=120)
    return output.decode(errors="replace")


def imgflow(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "imgflow.pipelines.cli", *args]
    return subprocess.run(command, cwd=project, env=environment(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("reliability") / "project")
    set_params(root, **{"data.max_per_class": 20, "train.model": "mlp", "train.epochs": 2})
    git("commit", "-qam", "tiny digits", cwd=root)
    dvc("repro", cwd=root)
    return root


@pytest.fixture(scope="module")
def reference(project: Path) -> dict[str, str]:
    return digests(project)


@pytest.mark.parametrize(
    ("stage", "sig"),
    [
        ("validate", signal.SIGKILL),
        ("resize", signal.SIGKILL),
        ("resize", signal.SIGINT),
        ("train", signal.SIGKILL),
        ("train", signal.SIGINT),
    ],
)
def test_dvc_repro_after_an_interrupted_stage_repeats_the_run(
    project: Path, reference: dict[str, str], stage: str, sig: int
) -> None:
    command = [sys.executable, "-m", "dvc", "repro", "--force", "--single-item", stage]
    interrupt_during(project, command, stage, sig)
    dvc("repro", cwd=project)
    assert digests(project) == reference
    # DVC may have restored the outputs from its cache without running the stage; the stage's
    # next run removes any temp file a killed one left.
    dvc("repro", "--force", "--single-item", stage, cwd=project)
    assert digests(project) == reference
    assert temp_files(project) == []


def test_imgflow_run_interrupted_in_train_puts_the_last_outputs_back_at_once(
    project: Path, reference: dict[str, str]
) -> None:
    output = interrupt_during(
        project, [sys.executable, "-m", "imgflow.pipelines.cli", "run", "--force"], "train", 2
    )
    assert "train: kept the last good" in output
    assert digests(project) == reference  # nothing lost, before any rerun
    assert imgflow(project, "run").returncode == 0
    assert digests(project) == reference
    assert temp_files(project) == []


def test_imgflow_run_killed_in_validate_recovers_at_the_next_start(
    project: Path, reference: dict[str, str]
) -> None:
    interrupt_during(
        project,
        [sys.executable, "-m", "imgflow.pipelines.cli", "run", "--force"],
        "validate",
        signal.SIGKILL,
    )
    assert (project / KEEP_ROOT / "validate").exists()  # only the next run can act now
    rerun = imgflow(project, "run")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "validate: put back" in rerun.stdout + rerun.stderr
    assert digests(project) == reference
    assert temp_files(project) == []


def test_bad_param_stops_imgflow_run_before_dvc_deletes_anything(
    project: Path, reference: dict[str, str]
) -> None:
    params = (project / "params.yaml").read_text()
    set_params(project, **{"train.epochs": "abc"})
    try:
        result = imgflow(project, "run")
    finally:
        (project / "params.yaml").write_text(params)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        "imgflow: error: params.yaml: invalid parameters:",
        "  train.epochs: Input should be a valid integer (got 'abc')",
    ]
    assert digests(project) == reference
