"""Stage 4, `split`: stratified train/val/test assignment with a fixed seed.

Before splitting, `class_map` merges or drops classes and `drop_grayscale` drops gray images.
A dataset's own test (and val) split is kept; only what is left is divided, and identical images
(same sha256) always land in the same split. `balance` then under- or oversamples the training
split only. Same params and data give byte-identical outputs.

Outputs (folder data/processed/):
  splits.parquet                       row, path, source_label, label, label_index, split,
                                       copies (times the image appears in the training arrays)
  classes.json                         class names in label-index order
  input.json                           resize's record of the model input, passed on for train
  hierarchy.json                       class -> coarse group, when the dataset has one (CIFAR-100
                                       fine labels) and class_map keeps it consistent
  {train,val,test}_images.npy          uint8 N x H x W x C
  {train,val,test}_labels.npy          int64 label indices
and reports/split.json: images per class per split, what was dropped and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from imgflow.common.artifacts import (
    atomic_dir,
    read_json,
    sweep_stale_temps,
    write_json,
    write_npy,
    write_parquet,
)
from imgflow.common.errors import StageError, run_stage
from imgflow.data.layout import SPLITS
from imgflow.data.splitting import make_splits, map_hierarchy, split_arrays
from imgflow.params.loader import load_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path, help="resize's array, e.g. data/interim/images.npy")
    parser.add_argument("index", type=Path, help="resize's table, e.g. data/interim/index.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. data/processed")
    parser.add_argument("report", type=Path, help="output report, e.g. reports/split.json")
    parser.add_argument(
        "--dataset", type=Path, help="download's dataset.json, for its class hierarchy if any"
    )
    parser.add_argument(
        "--input", type=Path, help="resize's input.json, passed on to train with the arrays"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.out_dir, args.report)
    params = load_params(args.params).split
    dataset_hierarchy = read_json(args.dataset).get("hierarchy", {}) if args.dataset else {}
    images = np.load(args.images, mmap_mode="r")
    index = pd.read_parquet(args.index)
    if not index["row"].between(0, len(images) - 1).all():
        raise StageError(
            f"{args.index}: rows beyond the {len(images)} images of {args.images}; "
            "were they written by different resize runs?"
        )
    table, classes, report = make_splits(index, params)
    hierarchy, why_not = map_hierarchy(dataset_hierarchy, params.class_map, classes)
    if dataset_hierarchy and not hierarchy:
        print(f"split: no hierarchy.json: {why_not}")
    with atomic_dir(args.out_dir) as staging:
        write_parquet(table, staging / "splits.parquet")
        write_json(classes, staging / "classes.json")
        if args.input:
            write_json(read_json(args.input), staging / "input.json")
        if hierarchy:
            write_json(hierarchy, staging / "hierarchy.json")
        for name in SPLITS:
            split_images, labels = split_arrays(images, table, name)
            write_npy(split_images, staging / f"{name}_images.npy")
            write_npy(labels, staging / f"{name}_labels.npy")
    write_json(report, args.report)
    counts = table.groupby("split").size().to_dict()
    print(f"split: {counts} over {len(classes)} classes -> {args.out_dir}")


if __name__ == "__main__":
    run_stage("split", main)
