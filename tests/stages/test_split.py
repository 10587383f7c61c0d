"""stages/split.py: main() writes the splits table and the per-split arrays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imgflow.common.artifacts import read_json, write_json
from imgflow.common.errors import StageError
from imgflow.data.layout import SPLITS
from stages.split import main
from tests.imgflow.data.helpers import CLASSES, imbalanced_index, synthetic_index

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


def write_inputs(folder: Path, index: pd.DataFrame) -> tuple[Path, Path]:
    """images.npy whose pixels encode each row number, and index.parquet."""
    n = len(index)
    images = np.zeros((n, 2, 3, 1), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n) // 256
    images[:, 0, 1, 0] = np.arange(n) % 256
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "images.npy", images)
    index.to_parquet(folder / "index.parquet", index=False)
    return folder / "images.npy", folder / "index.parquet"


def run_main(tmp_path: Path, index: pd.DataFrame, out_name: str = "processed", *extra: str) -> Path:
    images, index_path = write_inputs(tmp_path / "interim", index)
    out_dir = tmp_path / out_name
    report = tmp_path / f"{out_name}_split.json"
    main(
        [str(images), str(index_path), str(out_dir), str(report), "--params", str(PARAMS_YAML)]
        + list(extra)
    )
    return out_dir


def test_main_writes_every_output(tmp_path):
    out = run_main(tmp_path, synthetic_index())
    expected = {"splits.parquet", "classes.json"}
    expected |= {f"{name}_{kind}.npy" for name in SPLITS for kind in ("images", "labels")}
    assert {p.name for p in out.iterdir()} == expected
    assert read_json(out / "classes.json") == CLASSES
    report = read_json(tmp_path / "processed_split.json")
    assert sum(report["images"]["test"].values()) == len(np.load(out / "test_labels.npy"))


def test_main_refuses_index_rows_beyond_the_image_array(tmp_path):
    index = synthetic_index()
    images, index_path = write_inputs(tmp_path / "interim", index)
    np.save(images, np.load(images)[:-1])  # one image fewer than the index lists
    with pytest.raises(StageError, match=r"index.parquet: rows beyond the \d+ images of .*images"):
        main(
            [str(images), str(index_path), str(tmp_path / "out"), str(tmp_path / "split.json")]
            + ["--params", str(PARAMS_YAML)]
        )
    assert not (tmp_path / "out").exists()


def test_main_is_byte_identical_across_runs(tmp_path):
    index = synthetic_index()
    first = run_main(tmp_path, index, "first")
    second = run_main(tmp_path, index, "second")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    report = (tmp_path / "first_split.json").read_bytes()
    assert report == (tmp_path / "second_split.json").read_bytes()


def test_per_split_arrays_line_up_with_splits_table(tmp_path):
    index = synthetic_index()
    out = run_main(tmp_path, index)
    images = np.load(tmp_path / "interim" / "images.npy")
    table = pd.read_parquet(out / "splits.parquet")
    classes = read_json(out / "classes.json")
    total = 0
    for name in SPLITS:
        part = table[table["split"] == name]
        split_images = np.load(out / f"{name}_images.npy")
        split_labels = np.load(out / f"{name}_labels.npy")
        assert split_labels.dtype == np.int64
        assert len(split_images) == len(split_labels) == len(part)
        np.testing.assert_array_equal(split_labels, part["label_index"].to_numpy())
        assert [classes[i] for i in split_labels] == part["label"].tolist()
        np.testing.assert_array_equal(split_images, images[part["row"].to_numpy()])
        # The pixels encode the source row, so this also checks the order.
        rows = split_images[:, 0, 0, 0].astype(int) * 256 + split_images[:, 0, 1, 0]
        assert rows.tolist() == part["row"].tolist()
        total += len(part)
    assert total == len(index)


def test_training_arrays_repeat_oversampled_images(tmp_path: Path) -> None:
    params_path = tmp_path / "params.yaml"
    params_path.write_text(PARAMS_YAML.read_text().replace("balance: none", "balance: oversample"))
    images, index_path = write_inputs(tmp_path / "interim", imbalanced_index())
    out = tmp_path / "processed"
    main(
        [
            str(images),
            str(index_path),
            str(out),
            str(tmp_path / "split.json"),
            "--params",
            str(params_path),
        ]
    )
    labels = np.load(out / "train_labels.npy")
    assert len(labels) == len(np.load(out / "train_images.npy"))
    assert len(set(np.bincount(labels).tolist())) == 1  # every class equally often


def test_main_writes_hierarchy_json_from_the_dataset(tmp_path):
    dataset = tmp_path / "dataset.json"
    groups = {name: f"group_{i % 2}" for i, name in enumerate(CLASSES)}
    write_json({"hierarchy": groups}, dataset)
    out = run_main(tmp_path, synthetic_index(), "processed", "--dataset", str(dataset))
    assert read_json(out / "hierarchy.json") == groups


def run_split_process(tmp_path: Path, out_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m stages.split`, as DVC runs it, writing into `out_dir`."""
    images, index_path = write_inputs(tmp_path / "interim", synthetic_index())
    command = [sys.executable, "-m", "stages.split", str(images), str(index_path)]
    command += [str(out_dir / "processed"), str(out_dir / "split.json")]
    return subprocess.run(
        [*command, "--params", str(PARAMS_YAML)],
        cwd=PARAMS_YAML.parent,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def test_full_disk_is_one_line_naming_the_path(tmp_path, small_disk):
    disk = small_disk("full", size_kb=16)
    result = run_split_process(tmp_path, disk)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"split: error: {disk}")
    assert "No space left on device" in lines[0] and "free some space" in lines[0]
    assert not [p for p in disk.rglob("*") if ".tmp" in p.name]  # no half-written file left


def test_read_only_folder_is_one_line_and_verbose_adds_the_traceback(tmp_path, small_disk):
    disk = small_disk("readonly", read_only=True)
    result = run_split_process(tmp_path, disk)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"split: error: {disk / 'processed'}: Read-only file system (the file system is "
        "read-only: run the pipeline where it can write)"
    ]
    verbose = run_split_process(tmp_path, disk, IMGFLOW_VERBOSE="1")
    assert "Traceback" in verbose.stderr and verbose.stderr.strip().endswith("can write)")
