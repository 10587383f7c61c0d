"""A user's own small datasets, with the shipped params changed only where the data is: each
model must beat its majority-class rate by 15 points, with the input and the run's length
chosen from the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import dvc
from tests.e2e_helpers import read_json, set_params
from tests.small_datasets import CIFAR_JPG, build_photo_set, build_xray_set

pytestmark = [pytest.mark.e2e, pytest.mark.long]
MARGIN = 0.15  # over the majority-class rate


def run_to_evaluate(project: Path) -> tuple[dict, dict]:
    dvc("repro", "evaluate", cwd=project)
    metrics = read_json(project / "reports" / "metrics.json")
    info = read_json(project / "models" / "train_info.json")
    return metrics, info


def assert_beats_the_majority_rate(metrics: dict) -> None:
    assert not metrics["degenerate"], metrics["degenerate_reason"]
    assert metrics["accuracy"] >= metrics["majority_baseline"] + MARGIN, metrics


@pytest.mark.realdata
@pytest.mark.skipif(not CIFAR_JPG.exists(), reason=f"{CIFAR_JPG} is absent on this machine")
def test_a_small_photo_folder_trains_to_a_useful_model(project_copy: Path, tmp_path: Path) -> None:
    photos = build_photo_set(tmp_path / "photos")  # train/ and val/, 150-500 px JPEGs
    set_params(project_copy, **{"data.source": str(photos)})
    metrics, info = run_to_evaluate(project_copy)
    assert_beats_the_majority_rate(metrics)
    # The folder's own val split is kept; test is carved from train (a fifth of all images).
    counts = read_json(project_copy / "reports" / "split.json")["images"]
    assert sum(counts["val"].values()) == 60
    assert metrics["test_images"] == sum(counts["test"].values()) == 49
    assert info["input_shape"] == [64, 64, 3]
    assert "305 images: 64x64" in info["input"]["chosen"]["image_size"]
    assert info["params"]["epochs"] > 8 and "min_steps 200" in info["chosen"]["epochs"]
    assert info["params"]["augmentation"]["flip"] is True


def test_a_small_grayscale_set_with_a_labels_file_trains_to_a_useful_model(
    project_copy: Path, tmp_path: Path
) -> None:
    xray = build_xray_set(tmp_path / "xray")  # 503 PNGs, 200 float labels
    set_params(
        project_copy,
        **{
            "data.source": str(xray),
            "data.labels_file": "labels.txt",
            "data.on_label_mismatch": "labelled_only",
        },
    )
    metrics, info = run_to_evaluate(project_copy)
    assert_beats_the_majority_rate(metrics)
    assert info["input_shape"] == [64, 64, 1]
    assert info["input"]["chosen"]["color_mode"] == "all 200 images are grayscale"
