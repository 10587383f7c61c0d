"""The Prefect flow: one task per DVC stage, in dependency order.

Each task runs its stage through DVC, so DVC still decides what to skip. `download` retries
(networks fail); `train` has a time limit. The stage modules never import Prefect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import Task, flow, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import Failed, State

from imgflow.common.pipeline import STAGES
from imgflow.params.loader import load_params
from imgflow.pipelines.dvc_runner import StageFailed, StageRun, run_stage
from imgflow.pipelines.keep import recover_kept, sweep_temps

DOWNLOAD_RETRIES = 2
DOWNLOAD_RETRY_DELAY_SECONDS = 10
DEFAULT_TRAIN_TIMEOUT_MINUTES = 120.0


@dataclass
class PipelineSummary:
    runs: list[StageRun]
    metrics: dict[str, Any] = field(default_factory=dict)
    reports_dir: Path = Path("reports")

    @property
    def ran(self) -> list[str]:
        return [r.stage for r in self.runs if r.ran]

    @property
    def skipped(self) -> list[str]:
        return [r.stage for r in self.runs if not r.ran]

    def text(self) -> str:
        lines = [
            "imgflow pipeline summary",
            f"  stages run:     {', '.join(self.ran) or 'none'}",
            f"  stages skipped: {', '.join(self.skipped) or 'none'}",
        ]
        if "accuracy" in self.metrics:
            lines.append(
                f"  test accuracy:  {self.metrics['accuracy']:.4f} "
                f"(macro F1 {self.metrics.get('f1_macro', float('nan')):.4f})"
            )
        lines += [
            f"  metrics:        {self.reports_dir / 'metrics.json'}",
            f"  validation:     {self.reports_dir / 'validation.json'}",
            f"  plots:          {self.reports_dir / 'plots'}/",
            f"  model:          {self.reports_dir.parent / 'models' / 'model.keras'}",
        ]
        # Last, where it is seen: evaluate flags a model that predicts one class for nearly
        # everything, or does no better than always answering the largest class.
        if self.metrics.get("degenerate"):
            reason = self.metrics.get("degenerate_reason") or "see reports/metrics.json"
            lines.append(f"  WARNING: DEGENERATE MODEL: {reason}")
        return "\n".join(lines)


def retry_if_transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry a stage only when it failed in a way another attempt may not repeat (a network
    error), never for a bad param or a corrupt file, which would fail the same way again."""
    try:
        state.result()
    except StageFailed as exc:
        return exc.transient
    except Exception:
        return False
    return False


def run_stage_reported(
    stage: str, project: Path, force: bool = False, timeout_seconds: float | None = None
) -> StageRun | State:
    """One stage through DVC; a failure the stage reported ends the task in a Failed state
    whose message is the stage's own error, without a traceback (it is no bug of the flow's).

    A transient failure is raised instead, so that Prefect's retry policy sees it."""
    try:
        return run_stage(stage, project, force=force, timeout_seconds=timeout_seconds)
    except StageFailed as exc:
        if exc.transient:
            raise
        return Failed(message=str(exc), data=exc)


def stage_task(stage: str, train_timeout_minutes: float):
    """The Prefect task for one stage, with that stage's retry and timeout policy."""
    options: dict[str, Any] = {"name": stage, "task_run_name": stage}
    if stage == "download":
        options.update(
            retries=DOWNLOAD_RETRIES,
            retry_delay_seconds=DOWNLOAD_RETRY_DELAY_SECONDS,
            retry_condition_fn=retry_if_transient,
        )
    if stage == "train":
        # Prefect marks the task timed out; the runner also kills the training process itself.
        options.update(timeout_seconds=train_timeout_minutes * 60)
    return task(run_stage_reported, **options)


def run_stages(root: Path, force: bool, train_timeout_minutes: float) -> list[StageRun] | State:
    """Every stage in order (as Prefect tasks); the first failed stage's state ends it."""
    runs = []
    for stage in STAGES:
        stage_run = stage_task(stage, train_timeout_minutes)
        # The task's own limit is also the runner's: one number for Prefect and the kill.
        state = stage_run(
            stage, root, force=force, timeout_seconds=stage_run.timeout_seconds, return_state=True
        )
        if not state.is_completed():
            return state
        runs.append(state.result())
    return runs


def check_project(root: Path) -> None:
    """Before DVC deletes any output: the params load, and a killed run's kept outputs are back."""
    if (root / "params.yaml").exists():
        load_params(root / "params.yaml")
    for stage, restored in recover_kept(root).items():
        print(f"{stage}: put back {', '.join(restored)}, kept by a run that was killed")
    for temp in sweep_temps(root):
        print(f"removed {temp.relative_to(root)}, left by a killed run")


@flow(name="imgflow-pipeline", log_prints=True)
def pipeline(
    project_dir: str = ".",
    force: bool = False,
    train_timeout_minutes: float = DEFAULT_TRAIN_TIMEOUT_MINUTES,
) -> PipelineSummary | State:
    """Run the seven DVC stages in order; return which ran, which DVC skipped, and the metrics.

    A stage that fails ends the flow Failed with that stage's error (raised as StageFailed to a
    caller that runs the flow as a function)."""
    root = Path(project_dir).resolve()
    check_project(root)
    runs = run_stages(root, force, train_timeout_minutes)
    if not isinstance(runs, list):
        return Failed(message=runs.message, data=failure_of(runs))
    metrics_path = root / "reports" / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    summary = PipelineSummary(runs=runs, metrics=metrics, reports_dir=Path("reports"))
    print(summary.text())
    return summary


def failure_of(state: State) -> BaseException:
    """The exception behind a failed stage task's state."""
    try:
        state.result()
    except BaseException as exc:
        return exc
    return RuntimeError(state.message or "a stage failed")
