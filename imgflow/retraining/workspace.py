"""Where a challenger trains: a git worktree of the committed project, apart from the user's.

The worktree shares the project's git objects (so `dvc exp save` there lands in the project's
`dvc exp show`) and its DVC cache (so unchanged stages are checked out, not rerun). One retrain
runs at a time, under a file lock; whatever a killed run left behind is removed by the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

from imgflow.common.errors import StageError
from imgflow.params.loader import Params, parse_params

# Under .dvc/tmp: ignored by git and DVC, and local to this clone.
RETRAIN_ROOT = Path(".dvc") / "tmp" / "imgflow-retrain"
LOCK_NAME = "lock"


def git(project: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise StageError(f"git {' '.join(args)} failed in {project}: {result.stderr.strip()}")
    return result.stdout.strip()


def dvc(project: Path, *args: str) -> str:
    """DVC from this interpreter's environment; waits for another process's repo lock."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "--wait-for-lock", *args],
        cwd=project,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise StageError(f"dvc {' '.join(args)} failed in {project}: {output}")
    return result.stdout.strip()


@contextlib.contextmanager
def retrain_lock(project: Path, wait: bool = True) -> Iterator[None]:
    """Hold the project's retrain lock; another holder makes this wait (or fail, `wait=False`).

    The kernel releases a flock when its holder dies, so a killed run leaves no stale lock.
    """
    root = project / RETRAIN_ROOT
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK_NAME).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise StageError(f"{project}: another retrain is running") from None
            print(f"retrain: another retrain of {project} is running; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sweep(project: Path) -> list[str]:
    """Remove worktrees a killed retrain left (call with the lock held): their names."""
    root = project / RETRAIN_ROOT
    left = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for name in left:
        remove_worktree(project, root / name)
    git(project, "worktree", "prune")
    return left


def remove_worktree(project: Path, path: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", "--force", str(path)],
        cwd=project,
        capture_output=True,
    )
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def challenger_worktree(project: Path, name: str, rev: str = "HEAD") -> Iterator[Path]:
    """A detached worktree of `rev` under .dvc/tmp, using the project's DVC cache; removed on
    the way out, however the block ends."""
    path = project / RETRAIN_ROOT / name
    cache = dvc(project, "cache", "dir").splitlines()[-1].strip()
    git(project, "worktree", "add", "--detach", str(path), rev)
    try:
        dvc(path, "config", "--local", "cache.dir", cache)
        yield path
    finally:
        remove_worktree(project, path)
        git(project, "worktree", "prune")


def parse_override(text: str) -> tuple[list[str], object]:
    """`section.key=value` as DVC's -S takes it: the value is read as YAML (`[32, 32]`, `null`)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise StageError(f"--set {text!r}: expected section.key=value")
    parsed = YAML(typ="safe").load(value) if value.strip() else ""
    return key.strip().split("."), parsed


def apply_overrides(params_text: str, overrides: list[str], source: str) -> tuple[str, Params]:
    """params.yaml text with each override set (comments kept), and its validated params."""
    yaml = YAML()
    yaml.preserve_quotes = True
    document = yaml.load(params_text)
    for override in overrides:
        path, value = parse_override(override)
        node = document
        for key in path[:-1]:
            if not isinstance(node, dict) or key not in node:
                raise StageError(f"--set {override!r}: {'.'.join(path)}: no such section")
            node = node[key]
        if not isinstance(node, dict):
            raise StageError(f"--set {override!r}: {'.'.join(path[:-1])} is not a section")
        node[path[-1]] = flow_style(value)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    return text, parse_params(YAML(typ="safe").load(text), source)


def flow_style(value: object) -> object:
    """Lists as `[a, b]`, the way params.yaml writes them."""
    if isinstance(value, list):
        sequence = CommentedSeq(value)
        sequence.fa.set_flow_style()
        return sequence
    return value


def committed_params(project: Path, overrides: list[str], rev: str = "HEAD") -> tuple[str, Params]:
    """The params a challenger of `rev` trains with: the committed params.yaml plus overrides."""
    text = git(project, "show", f"{rev}:params.yaml")
    label = f"params.yaml at {rev}" + (f" with {', '.join(overrides)}" if overrides else "")
    return apply_overrides(text + os.linesep if not text.endswith("\n") else text, overrides, label)
