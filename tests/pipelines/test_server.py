"""`imgflow server` and `imgflow schedule` for real: a Prefect server on a free 127.0.0.1 port,
the served `retrain` deployment, two runs triggered through the API, and Prefect's own CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_project, git
from tests.e2e_helpers import set_params

pytestmark = pytest.mark.e2e
DEPLOYMENT = "imgflow-retrain/retrain"
# Reads the deployment's runs through Prefect's client: state, message, times and log lines.
RUNS_SCRIPT = """
import asyncio, json, sys
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

async def main():
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(sys.argv[1])
        runs = await client.read_flow_runs()
        out = {"paused": deployment.paused, "runs": []}
        for run in runs:
            if run.deployment_id != deployment.id:
                continue
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            history = await client.read_flow_run_states(run.id)
            out["runs"].append({
                "type": run.state_type.value, "message": run.state.message,
                "start": run.start_time.timestamp() if run.start_time else None,
                "end": run.end_time.timestamp() if run.end_time else None,
                "states": [s.name for s in history],
                "logs": [log.message for log in logs],
            })
        print(json.dumps(out))

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "imgflow.pipelines.cli", *args]


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        cli("server", "--port", str(port)),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as reply:
                if reply.status == 200:
                    break
        except OSError:
            time.sleep(1)
    else:
        stop(process)
        pytest.fail(f"Prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
    try:
        yield {**env, "PREFECT_API_URL": f"{url}/api", "IMGFLOW_UI": url}
    finally:
        stop(process)


def prefect_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    prefect = Path(sys.executable).with_name("prefect")
    wide = {**env, "COLUMNS": "250"}  # Rich cuts table cells to the terminal's width
    return subprocess.run([str(prefect), *args], env=wide, capture_output=True, text=True)


def read_runs(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", RUNS_SCRIPT, DEPLOYMENT], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_server_serves_the_ui(server: dict[str, str]) -> None:
    with urllib.request.urlopen(server["IMGFLOW_UI"], timeout=30) as reply:
        assert reply.status == 200 and b"<html" in reply.read().lower()


@pytest.mark.parametrize("listing", [["flow", "ls"], ["flow-run", "ls"], ["deployment", "ls"]])
def test_prefect_cli_lists_against_the_server(server: dict[str, str], listing) -> None:
    result = prefect_cli(server, *listing)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scheduled_deployment_runs_one_at_a_time_and_gates(
    server: dict[str, str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    # Two epochs of an mlp clear the gate's min_accuracy of 0.5 only without random shifts.
    tiny = {"train.model": "mlp", "train.epochs": 2, "train.augmentation": {"translate": 0}}
    set_params(project, **{"data.max_per_class": 20, **tiny})
    git("commit", "-qam", "tiny digits", cwd=project)
    serving = subprocess.Popen(
        cli("schedule", "--interval", "1d", "--project-dir", str(project)),
        env=server,
        stdout=(tmp_path / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while DEPLOYMENT not in prefect_cli(server, "deployment", "ls").stdout:
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-2000:]
            assert serving.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(2)
        for _ in range(2):  # two triggers at once, through the API
            started = prefect_cli(server, "deployment", "run", DEPLOYMENT)
            assert started.returncode == 0, started.stdout + started.stderr
        deadline = time.monotonic() + 420
        while True:
            runs = read_runs(server)["runs"]
            finished = [r for r in runs if r["type"] in {"COMPLETED", "FAILED", "CRASHED"}]
            if len(finished) == 2:
                break
            assert time.monotonic() < deadline, json.dumps(runs)[-3000:]
            time.sleep(3)
    finally:
        stop(serving)
    first, second = sorted(finished, key=lambda r: r["start"])
    assert first["type"] == second["type"] == "COMPLETED", json.dumps(finished)[-3000:]
    assert "promoted as model@v1.0.0" in first["message"]
    assert second["message"].startswith("nothing to do: the champion")
    assert second["start"] >= first["end"]  # it waited for the first, never ran beside it
    assert "AwaitingConcurrencySlot" in second["states"]
    assert any("Running stage 'train'" in line for line in first["logs"])
    after_stop = read_runs(server)
    assert after_stop["paused"] is False  # the schedule survives the serving process
    listed = prefect_cli(server, "flow-run", "ls")
    assert listed.returncode == 0 and "imgflow-retrain" in listed.stdout


# Holds a local server the way `imgflow run` does, until killed.
HOLDER = """
import time
from imgflow.pipelines.server import prefect_api
with prefect_api() as url:
    print(url, flush=True)
    time.sleep(600)
"""


def processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if text in cmdline and entry.name.isdigit():
            found.append(int(entry.name))
    return found


def test_the_local_server_stops_when_the_command_that_started_it_is_killed(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=env
    )
    url = holder.stdout.readline().strip()  # type: ignore[union-attr]
    port = url.split(":")[-1].split("/")[0]
    assert processes_naming(f"--port {port}"), f"no server process for {url}"
    holder.kill()  # SIGKILL: nothing in the command can stop its server now
    holder.wait()
    deadline = time.monotonic() + 30
    while processes_naming(f"--port {port}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_naming(f"--port {port}") == []
