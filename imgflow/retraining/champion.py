"""The champion: the model on the champion branch, how a challenger replaces it, and its tags.

Promotion commits the challenger's worktree (its dvc.lock, params, metrics and gate.json) on
top of the commit it was trained from and moves the champion branch there, compare-and-swap, so
nothing else moves it meanwhile. GTO then registers the version (`model@vN`) and assigns it the
`prod` stage, and `dvc push` sends the model to the DVC remote when one is configured.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgflow.common.errors import StageError
from imgflow.retraining.workspace import dvc, git

ARTIFACT = "model"  # the name dvc.yaml's `artifacts:` declares
PROD_STAGE = "prod"
FIRST_VERSION = "v1.0.0"
METRICS = "reports/metrics.json"  # evaluate's overall figures
PER_CLASS = "reports/per_class.json"  # evaluate's figures per class, by name


@dataclass(frozen=True)
class Champion:
    branch: str
    commit: str
    metrics: dict[str, Any]
    # Its reports/per_class.json; None for a champion promoted before evaluate wrote that file
    # (its metrics.json then holds the per-class figures).
    per_class: dict[str, Any] | None
    gate: dict[str, Any] | None  # its reports/gate.json, when a retrain promoted it


def read_file_at(project: Path, rev: str, path: str) -> str | None:
    result = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=project, capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else None


def read_champion(project: Path, branch: str) -> Champion | None:
    """The champion branch's commit and committed metrics (overall and per class), or None if
    there is no branch yet."""
    ref = f"refs/heads/{branch}"
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", ref],
        cwd=project,
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    commit = found.stdout.strip()
    metrics = read_file_at(project, commit, METRICS)
    if metrics is None:
        raise StageError(f"branch {branch} ({commit[:8]}) has no {METRICS} to compare")
    per_class = read_file_at(project, commit, PER_CLASS)
    gate = read_file_at(project, commit, "reports/gate.json")
    return Champion(
        branch,
        commit,
        json.loads(metrics),
        json.loads(per_class) if per_class else None,
        json.loads(gate) if gate else None,
    )


@dataclass(frozen=True)
class Promotion:
    commit: str
    version: str  # e.g. v3.0.0: the GTO tag is model@v3.0.0
    pushed: bool


def promote(
    project: Path, worktree: Path, branch: str, previous: str | None, message: str
) -> Promotion:
    """Commit the worktree and make it the champion; register and stage it with GTO."""
    git(worktree, "add", "--all")
    git(
        worktree,
        "-c",
        "user.name=imgflow retrain",
        "-c",
        "user.email=retrain@imgflow.invalid",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        message,
    )
    commit = git(worktree, "rev-parse", "HEAD")
    # Compare-and-swap: fails, changing nothing, if the branch moved since it was read.
    git(project, "update-ref", f"refs/heads/{branch}", commit, previous or "0" * 40)
    version = register(project, commit)
    pushed = push_if_remote(worktree)
    return Promotion(commit, version, pushed)


def register(project: Path, commit: str) -> str:
    """`model@vN.0.0` on `commit`, then its `prod` stage: the next major version each time."""
    from gto import api

    author = {"author": "imgflow retrain", "author_email": "retrain@imgflow.invalid"}
    try:
        first = not git(project, "tag", "--list", f"{ARTIFACT}@*")
        bump = {"version": FIRST_VERSION} if first else {"bump_major": True}
        tag = api.register(project, ARTIFACT, commit, **bump, **author)
        version = tag.version
        api.assign(project, ARTIFACT, PROD_STAGE, version=version, **author)
    except Exception as exc:  # GTO's errors share no base class worth naming
        raise StageError(f"gto: cannot tag {commit[:8]} as {ARTIFACT}: {exc}") from exc
    return str(version)


def push_if_remote(worktree: Path) -> bool:
    """Send the champion's DVC outputs to the default remote, if the project has one."""
    if not dvc(worktree, "remote", "list").strip():
        return False
    dvc(worktree, "push")
    return True
