"""The `retrain` flow: train a challenger apart from the workspace, gate it, promote a winner.

1. Anything new? The fingerprint of the data source, the committed params (with `set_params`)
   and the committed code is compared with the champion's and the last rejected challenger's;
   the same one ends the run at once, Completed with "nothing to do" (unless `force`).
2. A challenger trains in a git worktree of HEAD (one named task per stage) and is saved with
   `dvc exp save`, so every run shows in `dvc exp show`; the user's files never change.
3. The gate compares its metrics with the champion branch's (params.yaml's `gate:` rules) and
   writes reports/gate.json.
4. A passing challenger becomes the champion branch's new commit, tagged by GTO, pushed to the
   DVC remote if there is one. Prefect gets a Markdown report and a table of the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed, State

from imgflow.common.artifacts import write_json
from imgflow.common.errors import StageError
from imgflow.common.pipeline import STAGES
from imgflow.params.loader import Params
from imgflow.pipelines.dvc_runner import StageFailed
from imgflow.pipelines.flow import DEFAULT_TRAIN_TIMEOUT_MINUTES, failure_of, stage_task
from imgflow.retraining.champion import (
    METRICS,
    PER_CLASS,
    Champion,
    Promotion,
    promote,
    read_champion,
)
from imgflow.retraining.fingerprint import Fingerprint, fingerprint
from imgflow.retraining.gate import Decision, Scores, class_moves, decide
from imgflow.retraining.workspace import (
    challenger_worktree,
    committed_params,
    dvc,
    git,
    retrain_lock,
    sweep,
)

GATE_REPORT = Path("reports") / "gate.json"
MOVED_CLASSES_SHOWN = 5


@dataclass(frozen=True)
class RetrainResult:
    outcome: str  # nothing_to_do | promoted | rejected
    message: str
    experiment: str | None = None
    gate: dict[str, Any] | None = None


@task(name="fingerprint")
def inputs(project: Path, set_params: list[str]) -> tuple[str, Params, Fingerprint]:
    """The challenger's params.yaml text, its validated params, and its inputs' fingerprint.

    No retries: a bad param or a missing source fails the same way each time.
    """
    text, params = committed_params(project, set_params)
    return text, params, fingerprint(params, project)


def already_judged(
    inputs_print: Fingerprint, champion: Champion | None, last: dict | None
) -> str | None:
    """Why a challenger with this fingerprint would repeat a run already made, or None."""
    if (
        champion
        and (champion.gate or {}).get("fingerprint", {}).get("digest") == inputs_print.digest
    ):
        return f"nothing to do: the champion ({champion.branch}) was trained from the same inputs"
    rejected = last and not last.get("promote")
    if rejected and last.get("fingerprint", {}).get("digest") == inputs_print.digest:
        return (
            f"nothing to do: challenger {last.get('experiment')} was trained from the same inputs "
            "and rejected"
        )
    return None


def read_last_gate(project: Path) -> dict[str, Any] | None:
    path = project / GATE_REPORT
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def source_changed(inputs_print: Fingerprint, champion: Champion | None) -> bool:
    """DVC tracks a source by the value of data.source, not its content: force download then."""
    previous = (champion.gate or {}).get("fingerprint", {}) if champion else {}
    return bool(previous) and previous.get("source") != inputs_print.source


def read_report(work: Path, name: str) -> dict[str, Any]:
    """One of evaluate's JSON reports in the challenger's worktree, or an error naming it."""
    try:
        return json.loads((work / name).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StageError(f"challenger {name}: cannot read it ({exc})") from None


@task(name="gate")
def judge(
    work: Path, champion: Champion | None, params: Params
) -> tuple[Decision, Scores, Scores | None]:
    challenger = Scores.from_metrics(
        read_report(work, METRICS),
        f"challenger {METRICS} and {PER_CLASS}",
        read_report(work, PER_CLASS),
    )
    defending = (
        Scores.from_metrics(
            champion.metrics, f"{champion.branch}:{METRICS} and {PER_CLASS}", champion.per_class
        )
        if champion
        else None
    )
    return decide(challenger, defending, params.gate), challenger, defending


def gate_report(
    name: str,
    decision: Decision,
    inputs_print: Fingerprint,
    champion: Champion | None,
    set_params: list[str],
    baseline: str,
) -> dict[str, Any]:
    return {
        "experiment": name,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "baseline": baseline,
        "set_params": set_params,
        "champion": {"branch": champion.branch, "commit": champion.commit} if champion else None,
        "fingerprint": inputs_print.to_json(),
        **decision.to_json(),
    }


def markdown(
    name: str,
    decision: Decision,
    challenger: Scores,
    defending: Scores | None,
    promotion: Promotion | None,
) -> str:
    lines = [f"# Retrain {name}: {decision.summary}", ""]
    if promotion:
        lines.append(f"Promoted: commit `{promotion.commit[:8]}`, `model@{promotion.version}`.")
        lines.append("")
    lines += ["| | champion | challenger |", "|---|---|---|"]
    champion_accuracy = f"{defending.accuracy:.4f}" if defending else "none yet"
    lines.append(f"| test accuracy | {champion_accuracy} | {challenger.accuracy:.4f} |")
    if defending:
        moves = class_moves(challenger, defending)[:MOVED_CLASSES_SHOWN]
        if moves:
            lines += ["", "Classes that moved most (challenger minus champion):", ""]
            lines += ["| class | recall | F1 |", "|---|---|---|"]
            lines += [f"| {m.name} | {m.recall:+.4f} | {m.f1:+.4f} |" for m in moves]
    return "\n".join(lines)


def publish(name: str, report_md: str, decision: Decision) -> None:
    create_markdown_artifact(report_md, key="retrain-report", description=f"retrain {name}")
    create_table_artifact(
        [
            {
                "rule": r.name,
                "passed": r.passed,
                "value": r.value,
                "threshold": r.threshold,
                "detail": r.detail,
            }
            for r in decision.rules
        ],
        key="retrain-gate-rules",
        description=decision.summary,
    )


@flow(name="imgflow-retrain", log_prints=True)
def retrain(
    project_dir: str = ".",
    set_params: list[str] | None = None,
    force: bool = False,
    train_timeout_minutes: float = DEFAULT_TRAIN_TIMEOUT_MINUTES,
) -> State:
    """Retrain once: skip if nothing changed, else train a challenger and gate it."""
    project = Path(project_dir).resolve()
    overrides = list(set_params or [])
    with retrain_lock(project):
        left = sweep(project)
        if left:
            print(f"retrain: removed what an interrupted retrain left: {', '.join(left)}")
        text, params, inputs_print = inputs(project, overrides)
        champion = read_champion(project, params.gate.champion_branch)
        reason = None if force else already_judged(inputs_print, champion, read_last_gate(project))
        if reason:
            print(f"retrain: {reason}")
            return Completed(message=reason, data=RetrainResult("nothing_to_do", reason).__dict__)
        name = "retrain-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        try:
            result = challenge(
                project,
                name,
                text,
                params,
                inputs_print,
                champion,
                overrides,
                force,
                train_timeout_minutes,
            )
        except (
            StageFailed
        ) as exc:  # the stage said why; the champion and workspace are as they were
            return Failed(message=f"{name}: {exc}", data=exc)
    print(f"retrain: {result.message}")
    return Completed(message=result.message, data=result.__dict__)


def challenge(
    project: Path,
    name: str,
    params_text: str,
    params: Params,
    inputs_print: Fingerprint,
    champion: Champion | None,
    overrides: list[str],
    force: bool,
    train_timeout_minutes: float,
) -> RetrainResult:
    """Train, save, judge and maybe promote one challenger in its own worktree."""
    with challenger_worktree(project, name) as work:
        (work / "params.yaml").write_text(params_text)
        force_download = force or source_changed(inputs_print, champion)
        for stage in STAGES:
            run = stage_task(stage, train_timeout_minutes)
            state = run(
                stage,
                work,
                force=force_download and stage == "download",
                timeout_seconds=run.timeout_seconds,
                return_state=True,
            )
            if not state.is_completed():
                raise failure_of(state)
        decision, challenger, defending = judge(work, champion, params)
        baseline = git(work, "rev-parse", "HEAD")
        report = gate_report(name, decision, inputs_print, champion, overrides, baseline)
        write_json(report, work / GATE_REPORT)
        # The plot stage ran before the decision existed: drawn again, report.html shows it.
        redraw = stage_task("plot", train_timeout_minutes)
        state = redraw("plot", work, force=True, return_state=True)
        if not state.is_completed():
            raise failure_of(state)
        dvc(work, "exp", "save", "--name", name, "--force", "--include-untracked", str(GATE_REPORT))
        promotion = None
        if decision.promote:
            promotion = promote(
                project,
                work,
                params.gate.champion_branch,
                champion.commit if champion else None,
                f"Promote {name}: test accuracy {challenger.accuracy:.4f}",
            )
            report["promotion"] = promotion.__dict__
        write_json(report, project / GATE_REPORT)
        publish(name, markdown(name, decision, challenger, defending, promotion), decision)
    outcome = "promoted" if promotion else "rejected"
    tag = f" as model@{promotion.version}" if promotion else ""
    return RetrainResult(outcome, f"{name} {outcome}{tag}: {decision.summary}", name, report)
