"""pipelines/keep.py: a stage's outputs kept aside while DVC reruns it, put back on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imgflow.pipelines.keep import KEEP_ROOT, keep, recover_kept, restore, stage_outputs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    spec = {
        "stages": {
            "train": {
                "cmd": "true",
                "outs": ["models/model.keras", {"models/history.json": {"cache": False}}],
                "plots": [{"reports/train": {"cache": False}}],
            }
        }
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.keras").write_bytes(b"weights")
    (tmp_path / "models" / "history.json").write_text("{}")
    (tmp_path / "reports" / "train" / "plots").mkdir(parents=True)
    (tmp_path / "reports" / "train" / "plots" / "loss.tsv").write_text("step\tloss\n")
    return tmp_path


def delete_outputs(project: Path) -> None:
    """What DVC does before it runs a stage."""
    (project / "models" / "model.keras").unlink()
    (project / "models" / "history.json").unlink()
    for path in sorted((project / "reports" / "train").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (project / "reports" / "train").rmdir()


def test_stage_outputs_lists_outs_metrics_and_plots(project: Path) -> None:
    assert stage_outputs(project, "train") == [
        "models/model.keras",
        "models/history.json",
        "reports/train",
    ]


def test_outputs_deleted_by_a_failed_run_are_put_back(project: Path) -> None:
    keep(project, "train")
    delete_outputs(project)
    assert restore(project, "train") == stage_outputs(project, "train")
    assert (project / "models" / "model.keras").read_bytes() == b"weights"
    assert (project / "reports" / "train" / "plots" / "loss.tsv").read_text() == "step\tloss\n"
    assert not (project / KEEP_ROOT / "train").exists()


def test_an_output_the_failed_run_wrote_anew_is_left_as_written(project: Path) -> None:
    keep(project, "train")
    delete_outputs(project)
    (project / "models" / "history.json").write_text('{"new": 1}')
    restore(project, "train")
    assert (project / "models" / "history.json").read_text() == '{"new": 1}'
    assert (project / "models" / "model.keras").read_bytes() == b"weights"


def test_keeping_links_the_files_instead_of_copying_them(project: Path) -> None:
    keep(project, "train")
    kept = project / KEEP_ROOT / "train" / "models" / "model.keras"
    assert kept.stat().st_ino == (project / "models" / "model.keras").stat().st_ino


def test_a_killed_runs_kept_outputs_come_back_at_the_next_start(project: Path) -> None:
    keep(project, "train")
    delete_outputs(project)  # and then the process was killed: nothing restored
    assert recover_kept(project) == {"train": stage_outputs(project, "train")}
    assert (project / "models" / "model.keras").exists()
    assert recover_kept(project) == {}


def test_temps_a_killed_writer_left_are_swept_unless_dvc_runs(project: Path) -> None:
    import zc.lockfile

    from imgflow.pipelines.keep import DVC_LOCK, sweep_temps

    stale = project / "models" / ".model.keras.x81k.tmp.keras"
    stale.write_bytes(b"half")
    (project / DVC_LOCK).parent.mkdir(parents=True)
    running = zc.lockfile.LockFile(str(project / DVC_LOCK))  # as a DVC command holds it
    try:
        assert sweep_temps(project) == [] and stale.exists()
    finally:
        running.close()
    assert sweep_temps(project) == [stale]
    assert not stale.exists()
