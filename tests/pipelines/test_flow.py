from pathlib import Path

import pytest
import yaml

import imgflow.pipelines.flow as flow_module
from imgflow.common.errors import EXIT_TRANSIENT
from imgflow.common.pipeline import STAGES
from imgflow.pipelines.dvc_runner import StageFailed, StageRun
from imgflow.pipelines.flow import PipelineSummary, pipeline


@pytest.mark.usefixtures("prefect_harness")
def test_flow_runs_every_stage_then_skips_them_all(toy_project: Path) -> None:
    first = pipeline(project_dir=str(toy_project))
    second = pipeline(project_dir=str(toy_project))
    assert first.ran == list(STAGES) and first.skipped == []
    assert second.ran == [] and second.skipped == list(STAGES)
    assert "stages skipped: download, validate" in second.text()


def test_summary_names_run_and_skipped_stages_and_accuracy() -> None:
    runs = [StageRun("download", ran=False, seconds=1.0), StageRun("train", ran=True, seconds=9.0)]
    text = PipelineSummary(runs, metrics={"accuracy": 0.875, "f1_macro": 0.8}).text()
    assert "stages run:     train" in text and "stages skipped: download" in text
    assert "test accuracy:  0.8750 (macro F1 0.8000)" in text
    assert "reports/metrics.json" in text


def test_summary_ends_with_the_warning_for_a_degenerate_model() -> None:
    metrics = {"accuracy": 0.1, "degenerate": True, "degenerate_reason": "predicts '3' for 100%"}
    text = PipelineSummary([], metrics=metrics).text()
    assert text.splitlines()[-1] == "  WARNING: DEGENERATE MODEL: predicts '3' for 100%"


@pytest.mark.usefixtures("prefect_harness")
def test_download_is_retried_after_a_network_error(
    toy_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow_module, "DOWNLOAD_RETRY_DELAY_SECONDS", 0)
    # Fails on its first attempt only, with the stages' status for a transient error.
    flaky = (
        "python -c \"import os,sys; os.path.exists('tried') or (open('tried','w'), "
        f"sys.exit({EXIT_TRANSIENT})); open('out/download.txt','w').write('ok')\""
    )
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["download"]["cmd"] = flaky
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    summary = pipeline(project_dir=str(toy_project))
    assert (toy_project / "tried").exists()
    assert summary.ran == list(STAGES)


@pytest.mark.usefixtures("prefect_harness")
def test_download_that_fails_on_its_input_is_not_retried(
    toy_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow_module, "DOWNLOAD_RETRY_DELAY_SECONDS", 0)
    counting = (
        "python -c \"import sys; open('attempts','a').write('x'); "
        "sys.exit('download: error: data.source: no such folder')\""
    )
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["download"]["cmd"] = counting
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(StageFailed, match="no such folder") as failed:
        pipeline(project_dir=str(toy_project))
    assert (toy_project / "attempts").read_text() == "x"
    assert failed.value.stage_status == 1 and not failed.value.transient


@pytest.mark.usefixtures("prefect_harness")
def test_failed_stage_stops_the_flow(toy_project: Path) -> None:
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["validate"]["cmd"] = "python -c \"raise SystemExit('class cat: 3 images')\""
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(StageFailed, match="class cat: 3 images"):
        pipeline(project_dir=str(toy_project))
    assert not (toy_project / "out" / "resize.txt").exists()


def test_train_task_carries_the_time_limit() -> None:
    assert flow_module.stage_task("train", 1.5).timeout_seconds == 90
    assert flow_module.stage_task("download", 1.5).retries == flow_module.DOWNLOAD_RETRIES
