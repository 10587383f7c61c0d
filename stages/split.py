"""Stage 4, `split`: stratified train/val/test assignment with a fixed seed.

A dataset's own test (and val) split is kept; only what is left is divided. Same params and data
give byte-identical outputs.

Outputs (folder data/processed/):
  splits.parquet                       row, path, label, label_index, split
  classes.json                         class names in label-index order
  {train,val,test}_images.npy          uint8 N x H x W x C
  {train,val,test}_labels.npy          int64 label indices
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from stages.artifacts import atomic_dir, write_json, write_npy, write_parquet
from stages.errors import StageError, run_stage
from stages.params import SplitParams, load_params

SPLITS = ("train", "val", "test")


def _stratified_take(
    rows: np.ndarray, labels: np.ndarray, fraction: float, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into (kept, taken) with `fraction` of each class taken."""
    n_classes = pd.Series(labels).nunique()
    n_taken = max(round(fraction * len(rows)), n_classes)  # at least one image per class
    if len(rows) - n_taken < n_classes:
        raise StageError(
            f"cannot stratify {what}: {len(rows)} images in {n_classes} classes are too few "
            f"for a fraction of {fraction}"
        )
    kept, taken = train_test_split(
        rows, test_size=n_taken, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(kept), np.sort(taken)


def _check_class_sizes(labels: np.ndarray, needed: int) -> None:
    """Every class needs one image for training and one for each split carved from it."""
    counts = pd.Series(labels).value_counts().sort_index()
    too_small = counts[counts < needed]
    if not too_small.empty:
        raise StageError(
            f"cannot stratify: class {too_small.index[0]!r} has {too_small.iloc[0]} image(s) "
            f"to divide; each class needs at least {needed} (train + the splits carved from it)"
        )


def assign_splits(labels: pd.Series, own_split: pd.Series, params: SplitParams) -> pd.Series:
    """Split name per row. Rows the dataset already puts in val/test stay there.

    Fractions are of all images: without its own test split, `test_fraction` of every class goes
    to test, then `val_fraction` of all images (taken from what is left) to val.
    """
    rows = np.arange(len(labels))
    labels_arr = labels.to_numpy()
    own = own_split.fillna("").to_numpy()
    result = np.array(own, dtype=object)  # a writable copy
    pool = rows[(own == "") | (own == "train")]
    carve_test, carve_val = not (own == "test").any(), not (own == "val").any()
    _check_class_sizes(labels_arr[pool], needed=1 + carve_test + carve_val)
    if carve_test:
        pool, test = _stratified_take(
            pool, labels_arr[pool], params.test_fraction, params.seed, "the test split"
        )
        result[test] = "test"
    if carve_val:
        val_share = params.val_fraction * len(rows) / len(pool)
        pool, val = _stratified_take(
            pool, labels_arr[pool], min(val_share, 0.5), params.seed + 1, "the validation split"
        )
        result[val] = "val"
    result[pool] = "train"
    return pd.Series(result, index=labels.index, name="split", dtype="string")


def make_splits(index: pd.DataFrame, params: SplitParams) -> tuple[pd.DataFrame, list[str]]:
    """The splits table (one row per image, in array order) and the class list."""
    classes = sorted(index["label"].unique())
    table = index[["row", "path", "label"]].copy()
    table["label_index"] = table["label"].map({name: i for i, name in enumerate(classes)})
    table["label_index"] = table["label_index"].astype("int64")
    table["split"] = assign_splits(index["label"], index["split"], params)
    return table, classes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path, help="resize's array, e.g. data/interim/images.npy")
    parser.add_argument("index", type=Path, help="resize's table, e.g. data/interim/index.parquet")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. data/processed")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_params(args.params).split
    images = np.load(args.images, mmap_mode="r")
    table, classes = make_splits(pd.read_parquet(args.index), params)
    with atomic_dir(args.out_dir) as staging:
        write_parquet(table, staging / "splits.parquet")
        write_json(classes, staging / "classes.json")
        for name in SPLITS:
            part = table[table["split"] == name]
            write_npy(
                np.ascontiguousarray(images[part["row"].to_numpy()]), staging / f"{name}_images.npy"
            )
            write_npy(part["label_index"].to_numpy(dtype=np.int64), staging / f"{name}_labels.npy")
    counts = table.groupby("split").size().to_dict()
    print(f"split: {counts} over {len(classes)} classes -> {args.out_dir}")


if __name__ == "__main__":
    run_stage("split", main)
