import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from imgflow.pipelines.cli import build_parser, main


def test_run_defaults() -> None:
    args = build_parser().parse_args(["run"])
    assert args.project_dir == Path(".") and not args.force
    assert args.train_timeout_minutes == 120.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("6h", 21600), ("1.5d", 129600)]
)
def test_schedule_interval_units(text: str, seconds: int) -> None:
    args = build_parser().parse_args(["schedule", "--interval", text])
    assert args.interval == timedelta(seconds=seconds) and args.cron is None


@pytest.mark.parametrize("text", ["6", "6w", "0h", "h"])
def test_schedule_rejects_a_bad_interval_naming_it(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["schedule", "--interval", text])
    assert f"--interval {text!r}" in capsys.readouterr().err


def test_schedule_needs_cron_or_interval() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["schedule"])


def test_schedule_without_a_server_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["schedule", "--cron", "0 3 * * 1"]) == 2
    assert "imgflow server" in capsys.readouterr().err


def test_retrain_collects_overrides() -> None:
    args = build_parser().parse_args(["retrain", "--set", "train.epochs=3", "--set", "a.b=1"])
    assert args.set == ["train.epochs=3", "a.b=1"] and not args.force


def test_a_command_is_required() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


@pytest.mark.usefixtures("prefect_harness")
def test_failed_stage_exits_1_naming_the_stage(
    toy_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["resize"]["cmd"] = "python -c \"raise SystemExit('bad image size')\""
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["run", "--project-dir", str(toy_project)]) == 1
    assert "stage 'resize' failed" in capsys.readouterr().err


def run_with_own_server(project: Path) -> tuple[int, str]:
    """`imgflow run` in a process of its own, starting its own Prefect server: status, output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    result = subprocess.run(
        [sys.executable, "-m", "imgflow.pipelines.cli", "run", "--project-dir", str(project)],
        capture_output=True,
        text=True,
        env=env,
    )
    return result.returncode, result.stdout + result.stderr


def test_run_delivers_its_logs_before_stopping_its_own_server(toy_project: Path) -> None:
    status, output = run_with_own_server(toy_project)
    assert status == 0, output
    # Prefect's workers, left holding logs and events, retried the stopped server at exit.
    assert "Error logging to API" not in output and "connection attempts failed" not in output
    assert output.rstrip().splitlines()[-1].endswith("Finished in state Completed()")


def test_failing_run_prints_the_stages_error_once_and_no_traceback(toy_project: Path) -> None:
    # The message is built at run time, so the command line DVC echoes does not hold it.
    failing = "python -c \"import sys; sys.exit('resize: error: ' + 'bad image ' + 'size')\""
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["resize"]["cmd"] = failing
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    status, output = run_with_own_server(toy_project)
    assert status == 1
    assert output.count("resize: error: bad image size") == 1, output
    assert "Traceback" not in output
    assert output.rstrip().splitlines()[-1].startswith("imgflow: stage 'resize' failed")
