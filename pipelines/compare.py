"""`imgflow compare [REV_A] [REV_B]`: two runs at a glance.

A run is a git revision (commit, branch, tag), a DVC experiment name, or the workspace (REV_B's
default; REV_A's is HEAD). DVC diffs the params and the overall metrics (`dvc params diff`,
`dvc metrics diff`); the per-class figures come from reports/per_class.json at each revision
(`git show`), or on disk for the workspace. The tables themselves are built by
imgflow/retraining/compare.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgflow.common.errors import StageError
from imgflow.retraining.compare import CLASS_FIGURES, comparison, render
from imgflow.retraining.workspace import dvc, git

WORKSPACE = "workspace"
PER_CLASS = "reports/per_class.json"
METRICS = "reports/metrics.json"  # an older run kept its per-class figures in it


@dataclass(frozen=True)
class Rev:
    label: str  # as the user named it
    commit: str | None  # None: the workspace


def resolve(project: Path, name: str | None) -> Rev:
    """A git revision or a DVC experiment name as its commit; None or `workspace`: the
    workspace."""
    if name is None or name == WORKSPACE:
        return Rev(WORKSPACE, None)
    try:
        return Rev(name, git(project, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"))
    except StageError:
        pass
    # DVC keeps each experiment under refs/exps/<baseline sha, split 2/38>/<name>, as `dvc exp
    # show` lists it (its own refs, such as refs/exps/exec/EXEC_HEAD, have fewer parts).
    refs = git(project, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    found = sorted(
        {
            sha
            for ref, sha in (line.split() for line in refs.splitlines())
            if len(ref.split("/")) == 5 and ref.split("/")[-1] == name
        }
    )
    if len(found) > 1:
        raise StageError(f"{name}: several DVC experiments have this name; give a commit instead")
    if not found:
        raise StageError(f"{name}: not a git revision or a DVC experiment name")
    return Rev(name, found[0])


def read_at(project: Path, rev: Rev, path: str) -> str | None:
    """A file's text at `rev` (the workspace: on disk), or None where it does not exist."""
    if rev.commit is None:
        file = project / path
        return file.read_text() if file.exists() else None
    try:
        return git(project, "show", f"{rev.commit}:{path}")
    except StageError:
        return None


def per_class_at(project: Path, rev: Rev) -> dict[str, dict[str, Any]]:
    """The run's per-class figures by class name; {} where it has none."""
    text = read_at(project, rev, PER_CLASS)
    source = PER_CLASS
    if text is None:  # before per_class.json, metrics.json held them under `per_class`
        text, source = read_at(project, rev, METRICS), METRICS
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StageError(f"{rev.label}:{source}: not JSON ({exc})") from None
    figures = data.get("per_class", {}) if isinstance(data, dict) and source == METRICS else data
    if not isinstance(figures, dict):
        raise StageError(f"{rev.label}:{source}: expected an object of class name -> figures")
    for name, values in figures.items():
        for key in CLASS_FIGURES:
            value = values.get(key) if isinstance(values, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StageError(
                    f"{rev.label}:{source}: class {name!r}: {key} must be a number, got {value!r}"
                )
    return figures


def dvc_json(project: Path, *args: str) -> dict[str, Any]:
    text = dvc(project, *args, "--json")
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise StageError(f"dvc {' '.join(args)}: unreadable JSON ({exc})") from None


def compare(
    project: Path,
    rev_a: str | None = "HEAD",
    rev_b: str | None = None,
    markdown: bool = False,
    show_all: bool = False,
    limit: int = 5,
) -> str:
    """The comparison of run `rev_a` with run `rev_b`, as text or Markdown."""
    if limit < 1:
        raise StageError(f"--classes {limit}: expected 1 or more")
    a, b = resolve(project, rev_a), resolve(project, rev_b)
    revs = [r.commit for r in (a, b)]
    if revs[0] is None:  # DVC diffs against the workspace only as the second revision
        raise StageError("the workspace can only be REV_B, the second run compared")
    revs = [r for r in revs if r is not None]
    params_diff = dvc_json(project, "params", "diff", *revs)
    metrics_diff = dvc_json(project, "metrics", "diff", "--all", *revs)
    warnings, tables = comparison(
        params_diff,
        metrics_diff,
        per_class_at(project, a),
        per_class_at(project, b),
        a.label,
        b.label,
        limit,
        show_all,
    )
    return render(f"imgflow compare: {a.label} -> {b.label}", warnings, tables, markdown)
