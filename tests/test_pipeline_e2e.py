"""The real pipeline, `dvc repro` and all, in a temporary copy of the project on tiny data."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_project, dvc, git
from tests.e2e_helpers import declared_outputs, read_json, set_params

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `dvc repro` of the digits pipeline (12 images a class, 1 epoch), committed."""
    project = copy_project(tmp_path_factory.mktemp("e2e") / "project")
    set_params(project, **{"data.max_per_class": 12, "train.epochs": 1})
    dvc("repro", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "baseline run", cwd=project)
    return project


def test_every_declared_output_exists(built_project: Path) -> None:
    assert [p for p in declared_outputs(built_project) if not p.exists()] == []


def test_metrics_parse_with_class_names(built_project: Path) -> None:
    metrics = read_json(built_project / "reports" / "metrics.json")
    assert 0.0 <= metrics["accuracy"] <= 1.0
    per_class = read_json(built_project / "reports" / "per_class.json")
    assert list(per_class) == [str(d) for d in range(10)]
    assert read_json(built_project / "reports" / "validation.json")["success"] is True
    shown = json.loads(dvc("metrics", "show", "--json", cwd=built_project).stdout)
    assert "reports/metrics.json" in json.dumps(shown)


def test_rerun_with_nothing_changed_skips_every_stage(built_project: Path) -> None:
    again = dvc("repro", cwd=built_project)
    assert "Running stage" not in again.stdout
    assert again.stdout.count("didn't change, skipping") == 7


def test_retrain_that_reproduces_the_model_leaves_evaluate_and_plot_skipped(
    built_project: Path,
) -> None:
    dvc("repro", "--force", "--single-item", "train", cwd=built_project)
    again = dvc("repro", cwd=built_project)
    # Same seed, data and CPU: the same model bytes and history.json; only train_info.json's
    # timings are new, and evaluate does not read them.
    assert "Running stage" not in again.stdout
    assert "Stage 'evaluate' didn't change, skipping" in again.stdout


def test_experiment_with_other_epochs_shows_in_metrics_diff(built_project: Path) -> None:
    dvc("exp", "run", "-S", "train.epochs=2", cwd=built_project)
    diff = json.loads(dvc("metrics", "diff", "HEAD", "--json", cwd=built_project).stdout)
    assert diff["reports/train/metrics.json"]["step"] == {"old": 0, "new": 1, "diff": 1}
    # The saved model is the best epoch's, so test accuracy may not move; the epochs run must.
    assert diff["reports/metrics.json"]["epochs_run"] == {"old": 1, "new": 2, "diff": 1}


def test_corrupt_image_under_fail_policy_stops_the_pipeline_naming_the_file(
    project_copy: Path, image_folder: Path
) -> None:
    (image_folder / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    set_params(project_copy, **{"data.source": str(image_folder), "validate.on_corrupt": "fail"})
    result = dvc("repro", cwd=project_copy, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "unreadable file dog/broken.jpg in class 'dog'" in output
    assert not (project_copy / "data" / "interim" / "images.npy").exists()
    assert read_json(project_copy / "reports" / "validation.json")["success"] is False


def test_corrupt_image_is_quarantined_by_default_and_the_pipeline_goes_on(
    project_copy: Path, image_folder: Path
) -> None:
    (image_folder / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    set_params(project_copy, **{"data.source": str(image_folder)})
    dvc("repro", "resize", cwd=project_copy)
    report = read_json(project_copy / "reports" / "validation.json")
    assert report["quarantined"] == 1
    assert [q["path"] for q in report["quarantine"]] == ["dog/broken.jpg"]
    index = pd.read_parquet(project_copy / "data" / "interim" / "index.parquet")
    assert len(index) == 18 and "dog/broken.jpg" not in set(index["path"])
    assert (image_folder / "dog" / "broken.jpg").exists()  # raw data is never touched


def test_cifar10_publisher_archive_over_http_runs_the_whole_pipeline(project_copy: Path) -> None:
    from tests.download_helpers import CIFAR10_NAMES, cifar10_archive, md5, serve

    archive, _ = cifar10_archive(train_per_batch=2, test_per_class=2)
    with serve({"/kriz/cifar-10-python.tar.gz": archive}) as server:
        set_params(
            project_copy,
            **{
                "data.source": "cifar10",
                "data.url": server.url("kriz/cifar-10-python.tar.gz"),
                "data.md5": md5(archive),
                "train.model": "mlp",
                "train.epochs": 1,
            },
        )
        dvc("repro", cwd=project_copy)
    dataset = read_json(project_copy / "data" / "raw" / "dataset.json")
    assert dataset["classes"] == sorted(CIFAR10_NAMES)
    assert read_json(project_copy / "reports" / "validation.json")["success"] is True
    metrics = read_json(project_copy / "reports" / "metrics.json")
    assert metrics["test_images"] == 20  # the publisher's test batch, kept whole
    assert list(read_json(project_copy / "reports" / "per_class.json")) == sorted(CIFAR10_NAMES)
