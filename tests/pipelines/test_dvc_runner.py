from pathlib import Path

import pytest
import yaml

from imgflow.pipelines.dvc_runner import StageFailed, run_stage


def set_cmd(project: Path, stage: str, cmd: str) -> None:
    spec = yaml.safe_load((project / "dvc.yaml").read_text())
    spec["stages"][stage]["cmd"] = cmd
    (project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def test_a_new_stage_runs_and_an_unchanged_one_is_skipped(toy_project: Path) -> None:
    first = run_stage("download", toy_project, echo=False)
    second = run_stage("download", toy_project, echo=False)
    assert first.ran and not second.ran
    assert (toy_project / "out" / "download.txt").read_text() == "download"


def test_force_reruns_an_unchanged_stage(toy_project: Path) -> None:
    run_stage("download", toy_project, echo=False)
    assert run_stage("download", toy_project, force=True, echo=False).ran


def test_single_item_runs_only_the_named_stage(toy_project: Path) -> None:
    run_stage("download", toy_project, echo=False)
    run_stage("validate", toy_project, echo=False)
    assert not (toy_project / "out" / "resize.txt").exists()


def test_failing_stage_raises_with_its_output(toy_project: Path) -> None:
    set_cmd(toy_project, "download", "python -c \"raise SystemExit('broken source xyz')\"")
    with pytest.raises(StageFailed, match="broken source xyz") as caught:
        run_stage("download", toy_project, echo=False)
    assert caught.value.stage == "download"


def test_stage_past_its_time_limit_is_killed_with_its_own_process(toy_project: Path) -> None:
    # The stage command runs under DVC and a shell; it records its pid so we can look for it.
    set_cmd(
        toy_project,
        "download",
        "python -c \"import os, time; open('stage.pid', 'w').write(str(os.getpid())); "
        'time.sleep(120)"',
    )
    with pytest.raises(StageFailed, match="ran past its limit"):
        run_stage("download", toy_project, timeout_seconds=5, echo=False)
    status = Path(f"/proc/{(toy_project / 'stage.pid').read_text()}/status")
    assert not status.exists() or "zombie" in status.read_text()


def test_unknown_stage_is_refused(toy_project: Path) -> None:
    with pytest.raises(ValueError, match="unknown stage 'deploy'"):
        run_stage("deploy", toy_project)


def test_failure_names_the_stages_own_error_lines_only(toy_project: Path) -> None:
    noisy = (
        "python -c \"import sys; print('I0000 00:00:1.0  7 port.cc:153] oneDNN custom operations "
        "are on.', file=sys.stderr); print('resize: error: data/raw: bad', file=sys.stderr); "
        "print('  [check] a.png: truncated', file=sys.stderr); sys.exit(1)\""
    )
    set_cmd(toy_project, "download", noisy)
    with pytest.raises(StageFailed) as failed:
        run_stage("download", toy_project, echo=False)
    assert failed.value.stage_status == 1
    lines = failed.value.output_tail.splitlines()
    assert not [line for line in lines if line.startswith("I0000")]  # TensorFlow's start-up noise
    # No `download: error:` line of its own: the error is the output's tail.
    assert failed.value.error == failed.value.output_tail
    set_cmd(toy_project, "download", noisy.replace("resize: error", "download: error"))
    with pytest.raises(StageFailed) as failed:
        run_stage("download", toy_project, echo=False)
    assert failed.value.error == "download: error: data/raw: bad\n  [check] a.png: truncated"


def test_failed_stage_gets_its_previous_outputs_back(toy_project: Path) -> None:
    run_stage("download", toy_project, echo=False)
    set_cmd(toy_project, "download", "python -c \"raise SystemExit('download: error: gone')\"")
    with pytest.raises(StageFailed):
        run_stage("download", toy_project, echo=False)
    # DVC deleted out/download.txt before the command ran; the runner put it back.
    assert (toy_project / "out" / "download.txt").read_text() == "download"
