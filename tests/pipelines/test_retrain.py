"""pipelines/retrain.py on a tiny real project: the gate, promotion, failures and kills.

One project serves every test, in order: the first retrain makes the champion; later tests
swap in hand-made champions (commits on the champion branch with other metrics) to meet a
better, a worse and a class-dropping challenger. DVC's run cache makes retraining the same
challenger a checkout, so only the first and the failing runs train.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgflow.pipelines.retrain import GATE_REPORT, retrain
from imgflow.retraining.workspace import RETRAIN_ROOT
from tests.conftest import copy_project, git
from tests.e2e_helpers import set_params, stage_process

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
BRANCH = "champion"


def run_git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


def workspace_digest(project: Path) -> dict[str, str]:
    """Every file of the user's workspace by content, .git and DVC's scratch space aside."""
    digests = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if path.is_file() and not rel.startswith((".git/", ".dvc/tmp/", ".dvc/cache/")):
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def champion_state(project: Path) -> tuple[str, str, list[str]]:
    """The champion's commit, its tree and the tags: what a rejected challenger must not move."""
    return (
        run_git(project, "rev-parse", BRANCH),
        run_git(project, "rev-parse", f"{BRANCH}^{{tree}}"),
        run_git(project, "tag", "--list").splitlines(),
    )


def leftovers(project: Path) -> list[str]:
    root = project / RETRAIN_ROOT
    left = [p.name for p in root.iterdir() if p.is_dir()] if root.exists() else []
    worktrees = run_git(project, "worktree", "list").splitlines()
    return left + worktrees[1:]


def outcome(project: Path, **options):
    state = retrain(project_dir=str(project), return_state=True, **options)
    return state, state.result()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("retrain") / "project")
    set_params(
        root,
        # Two epochs of an mlp clear the gate's min_accuracy of 0.5 only without random shifts.
        **{
            "data.max_per_class": 20,
            "train.model": "mlp",
            "train.epochs": 2,
            "train.augmentation": {"translate": 0},
        },
    )
    git("commit", "-qam", "tiny digits", cwd=root)
    return root


@pytest.fixture(scope="module")
def first(project: Path):
    before = workspace_digest(project)
    state, result = outcome(project)
    return before, state, result


def fake_champion(project: Path, metrics_edit, per_class_edit=None) -> str:
    """A commit on the champion branch whose metrics.json `metrics_edit` changed (and its
    per_class.json `per_class_edit`)."""
    work = project.parent / "fake-champion"
    git("worktree", "add", "--detach", str(work), BRANCH, cwd=project)
    for name, edit in (("metrics.json", metrics_edit), ("per_class.json", per_class_edit)):
        if edit is not None:
            path = work / "reports" / name
            figures = json.loads(path.read_text())
            edit(figures)
            path.write_text(json.dumps(figures))
    git("commit", "-qam", "hand-made champion", cwd=work)
    commit = run_git(work, "rev-parse", "HEAD")
    git("update-ref", f"refs/heads/{BRANCH}", commit, cwd=project)
    git("worktree", "remove", "--force", str(work), cwd=project)
    return commit


def test_first_retrain_becomes_the_champion_and_is_tagged(project: Path, first) -> None:
    before, state, result = first
    assert state.is_completed() and result["outcome"] == "promoted"
    assert "model@v1.0.0" in state.message
    tags = run_git(project, "tag", "--list").splitlines()
    assert {"model@v1.0.0", "model#prod#1"} <= set(tags)
    champion_metrics = json.loads(run_git(project, "show", f"{BRANCH}:reports/metrics.json"))
    assert champion_metrics["accuracy"] == result["gate"]["rules"][0]["value"]
    assert json.loads(run_git(project, "show", f"{BRANCH}:reports/gate.json"))["promote"] is True
    page = run_git(project, "show", f"{BRANCH}:reports/report.html")
    assert "promote: every rule passed (no champion yet)" in page  # its own decision
    after = workspace_digest(project)
    assert after.pop(GATE_REPORT.as_posix())  # the decision is the one file it writes
    assert after == before
    assert leftovers(project) == []


def test_every_challenger_shows_in_dvc_exp_show(project: Path, first) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "show", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert first[2]["experiment"] in shown


def test_nothing_changed_finishes_without_training(project: Path, first) -> None:
    experiments = run_git(project, "for-each-ref", "refs/exps")
    state, result = outcome(project)
    assert result["outcome"] == "nothing_to_do"
    assert state.message.startswith("nothing to do: the champion")
    assert run_git(project, "for-each-ref", "refs/exps") == experiments  # no challenger


def test_better_challenger_is_promoted(project: Path, first) -> None:
    weak = fake_champion(project, lambda m: m.update(accuracy=0.0))
    state, result = outcome(project, force=True)
    assert result["outcome"] == "promoted"
    assert run_git(project, "rev-parse", BRANCH) != weak
    assert run_git(project, "rev-parse", f"{BRANCH}^") != weak  # trained from HEAD, not it
    assert "model@v2.0.0" in run_git(project, "tag", "--list").splitlines()


def test_worse_challenger_changes_nothing(project: Path, first) -> None:
    fake_champion(project, lambda m: m.update(accuracy=1.0))
    champion, workspace = champion_state(project), workspace_digest(project)
    state, result = outcome(project, force=True)
    assert result["outcome"] == "rejected"
    assert "min_gain failed" in state.message
    assert champion_state(project) == champion
    after = workspace_digest(project)
    after.pop(GATE_REPORT.as_posix()), workspace.pop(GATE_REPORT.as_posix())
    assert after == workspace
    assert json.loads((project / GATE_REPORT).read_text())["promote"] is False


def test_challenger_dropping_a_class_is_rejected(project: Path, first) -> None:
    def perfect_classes(per_class: dict) -> None:
        for figures in per_class.values():
            figures.update(recall=1.0, f1=1.0)

    # accuracy 0: the overall rules pass
    fake_champion(project, lambda m: m.update(accuracy=0.0), perfect_classes)
    champion = champion_state(project)
    state, result = outcome(project, force=True)
    assert result["outcome"] == "rejected"
    assert "max_class_drop failed" in state.message
    assert champion_state(project) == champion


def test_failed_training_leaves_champion_and_workspace(project: Path, first, tmp_path) -> None:
    broken = tmp_path / "weights.h5"
    broken.write_bytes(b"not an HDF5 file")
    champion, workspace = champion_state(project), workspace_digest(project)
    overrides = ["train.model=transfer", f"train.transfer.weights={broken}"]
    state = retrain(project_dir=str(project), set_params=overrides, return_state=True)
    assert state.is_failed()
    assert "stage 'train' failed" in state.message
    assert champion_state(project) == champion
    assert workspace_digest(project) == workspace
    assert leftovers(project) == []


def test_killed_retrain_leaves_everything_and_the_next_one_cleans_up(project: Path, first) -> None:
    from prefect.settings import PREFECT_API_URL

    champion, workspace = champion_state(project), workspace_digest(project)
    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    command = [sys.executable, "-m", "imgflow.pipelines.cli", "retrain", "--force"]
    child = subprocess.Popen(
        [*command, "--set", "train.epochs=200", "--project-dir", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        for line in child.stdout:
            if "Running stage 'train'" in line:
                time.sleep(3)  # well inside the epochs
                break
    finally:
        # Every process of the run: the command's group and the session DVC runs in.
        train = stage_process("train", under=child.pid)
        for group in {child.pid, *([os.getpgid(train)] if train else [])}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        child.wait()
    assert champion_state(project) == champion
    assert workspace_digest(project) == workspace
    assert leftovers(project)  # the killed challenger's worktree: only the next run can go
    state, result = outcome(project, force=True)
    assert state.is_completed() and result["outcome"] in {"promoted", "rejected"}
    assert leftovers(project) == []
