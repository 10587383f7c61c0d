"""imgflow/retraining/workspace.py: overrides, the worktree, the lock and the sweep."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imgflow.common.errors import StageError
from imgflow.params.types import ParamsError
from imgflow.retraining.workspace import (
    RETRAIN_ROOT,
    apply_overrides,
    challenger_worktree,
    retrain_lock,
    sweep,
)
from tests.conftest import git, init_repo

PARAMS_YAML = Path(__file__).resolve().parents[3] / "params.yaml"


def test_overrides_keep_comments_and_validate() -> None:
    text, params = apply_overrides(
        PARAMS_YAML.read_text(), ["train.epochs=3", "resize.image_size=[16, 24]"], "p"
    )
    assert params.train.epochs == 3 and params.resize.image_size == (16, 24)
    assert "image_size: [16, 24]" in text
    assert "# mlp | cnn_basic" in text  # comments survive


def test_override_with_a_bad_value_fails_naming_the_key() -> None:
    with pytest.raises(ParamsError, match=r"train.epochs: Input should be a valid integer"):
        apply_overrides(PARAMS_YAML.read_text(), ["train.epochs=abc"], "p")


@pytest.mark.parametrize(
    ("override", "message"),
    [("train.epochs", "expected section.key=value"), ("nope.key=1", "no such section")],
)
def test_malformed_override_fails_naming_it(override: str, message: str) -> None:
    with pytest.raises(StageError, match=message):
        apply_overrides(PARAMS_YAML.read_text(), [override], "p")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "file.txt").write_text("committed")
    init_repo(root)
    return root


def test_worktree_holds_the_commit_and_goes_away(repo: Path) -> None:
    (repo / "file.txt").write_text("uncommitted edit")
    with challenger_worktree(repo, "c1") as work:
        assert (work / "file.txt").read_text() == "committed"
        (work / "file.txt").write_text("challenger's")
    assert not work.exists()
    assert (repo / "file.txt").read_text() == "uncommitted edit"
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True)
    assert len(worktrees.stdout.splitlines()) == 1


def test_sweep_removes_what_a_killed_run_left(repo: Path) -> None:
    git("worktree", "add", "--detach", str(repo / RETRAIN_ROOT / "old"), "HEAD", cwd=repo)
    (repo / RETRAIN_ROOT / "stray").mkdir()
    assert sweep(repo) == ["old", "stray"]
    assert not [p for p in (repo / RETRAIN_ROOT).iterdir() if p.is_dir()]
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True)
    assert len(worktrees.stdout.splitlines()) == 1


def test_a_second_holder_of_the_lock_is_refused_when_not_waiting(repo: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from imgflow.retraining.workspace import retrain_lock\n"
            f"with retrain_lock(Path({str(repo)!r})):\n"
            "    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(StageError, match="another retrain is running"),
            retrain_lock(repo, wait=False),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with retrain_lock(repo, wait=False):  # a killed holder leaves no stale lock
        pass
