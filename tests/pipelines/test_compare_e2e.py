"""Comparing two real runs of the pipeline on different datasets: digits, then a CIFAR-10 subset
in the publisher's format served from 127.0.0.1 (tiny data, 1 epoch of the mlp preset)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgflow.pipelines.cli import main
from tests.conftest import copy_project, dvc, git
from tests.e2e_helpers import set_params

pytestmark = pytest.mark.e2e

# The limit issue #24 sets: the overall figures, not one row per class and figure.
MAX_DIFF_LINES = 30


@pytest.fixture(scope="module")
def digits_then_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HEAD: a committed digits run; the workspace: a CIFAR-10 run of the same project."""
    from tests.download_helpers import cifar10_archive, md5, serve

    project = copy_project(tmp_path_factory.mktemp("compare-e2e") / "project")
    set_params(project, **{"data.max_per_class": 5, "train.model": "mlp", "train.epochs": 1})
    dvc("repro", "evaluate", cwd=project)  # the metrics; the plots are not compared
    git("add", "-A", cwd=project)
    git("commit", "-qm", "digits run", cwd=project)
    archive, _ = cifar10_archive(train_per_batch=2, test_per_class=2)
    with serve({"/kriz/cifar-10-python.tar.gz": archive}) as server:
        set_params(
            project,
            **{
                "data.source": "cifar10",
                "data.url": server.url("kriz/cifar-10-python.tar.gz"),
                "data.md5": md5(archive),
            },
        )
        dvc("repro", "evaluate", cwd=project)
    return project


def test_metrics_diff_between_datasets_stays_short(digits_then_cifar: Path) -> None:
    diff = dvc("metrics", "diff", "HEAD", cwd=digits_then_cifar).stdout
    lines = diff.splitlines()
    assert len(lines) < MAX_DIFF_LINES, diff
    assert not [line for line in lines if "per_class" in line or "airplane" in line], diff


def test_compare_between_datasets_shows_the_source_and_no_common_class(
    digits_then_cifar: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--project-dir", str(digits_then_cifar)]) == 0
    out = capsys.readouterr().out
    assert ["data.source", "digits", "cifar10"] in [line.split() for line in out.splitlines()]
    assert "only in HEAD: 0, 1, 2, 3, 4 and 5 more; only in workspace: airplane" in out
