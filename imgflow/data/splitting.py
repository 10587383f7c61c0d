"""Stratified, seeded train/val/test assignment, class mapping and training-split balance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imgflow.common.errors import StageError
from imgflow.data.layout import SPLITS
from imgflow.params.split import SplitParams


def class_quotas(counts: np.ndarray, n_taken: int) -> np.ndarray:
    """How many of each class to take so the total is `n_taken` and each class gives in
    proportion to its size: largest remainders round up (ties to the earlier class), and every
    class gives at least one image and keeps at least one."""
    exact = counts * n_taken / counts.sum()
    quotas = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    by_remainder = np.argsort(-(exact - np.floor(exact)), kind="stable")
    while (short := n_taken - int(quotas.sum())) != 0:
        step = 1 if short > 0 else -1
        room = quotas < counts - 1 if step > 0 else quotas > 1
        candidates = by_remainder if step > 0 else by_remainder[::-1]
        chosen = candidates[room[candidates]][: abs(short)]
        quotas[chosen] += step
    return quotas


def _stratified_take(
    rows: np.ndarray, labels: np.ndarray, fraction: float, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into (kept, taken) with `fraction` of each class taken at random.

    numpy rather than scikit-learn's train_test_split: importing scikit-learn would take most of
    this stage's time, for the same proportional allocation (docs/decisions/slow-imports.md).
    """
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n_taken = max(round(fraction * len(rows)), len(classes))  # at least one image per class
    if len(rows) - n_taken < len(classes):
        raise StageError(
            f"cannot stratify {what}: {len(rows)} images in {len(classes)} classes are too few "
            f"for a fraction of {fraction}"
        )
    quotas = class_quotas(counts, n_taken)
    rng = np.random.default_rng(seed)
    taken = np.concatenate(
        [rng.permutation(rows[inverse == k])[:quota] for k, quota in enumerate(quotas)]
    )
    return np.sort(np.setdiff1d(rows, taken)), np.sort(taken)


def _check_class_sizes(labels: np.ndarray, needed: int) -> None:
    """Every class needs one image for training and one for each split carved from it."""
    counts = pd.Series(labels).value_counts().sort_index()
    too_small = counts[counts < needed]
    if not too_small.empty:
        raise StageError(
            f"cannot stratify: class {too_small.index[0]!r} has {too_small.iloc[0]} image(s) "
            f"to divide; each class needs at least {needed} (train + the splits carved from it)"
        )


def assign_splits(
    labels: pd.Series,
    own_split: pd.Series,
    params: SplitParams,
    content_hash: pd.Series | None = None,
) -> pd.Series:
    """Split name per row. Rows the dataset already puts in val/test stay there.

    Fractions are of all images: without its own test split, `test_fraction` of every class goes
    to test, then `val_fraction` of all images (taken from what is left) to val. Rows sharing a
    `content_hash` are divided as one unit, so copies of an image never straddle two splits.
    """
    rows = np.arange(len(labels))
    labels_arr = labels.to_numpy()
    own = own_split.fillna("").to_numpy()
    result = np.array(own, dtype=object)  # a writable copy
    pool = rows[(own == "") | (own == "train")]
    hashes = (content_hash if content_hash is not None else pd.Series(rows)).to_numpy()
    units = pool[~pd.Series(hashes[pool]).duplicated().to_numpy()]  # one row per distinct image
    carve_test, carve_val = not (own == "test").any(), not (own == "val").any()
    _check_class_sizes(labels_arr[units], needed=1 + carve_test + carve_val)
    unit_split = dict.fromkeys(hashes[units], "train")
    remaining = units
    if carve_test:
        remaining, test = _stratified_take(
            remaining, labels_arr[remaining], params.test_fraction, params.seed, "the test split"
        )
        unit_split.update(dict.fromkeys(hashes[test], "test"))
    if carve_val:
        val_share = params.val_fraction * len(rows) / len(remaining)
        remaining, val = _stratified_take(
            remaining,
            labels_arr[remaining],
            min(val_share, 0.5),
            params.seed + 1,
            "the validation split",
        )
        unit_split.update(dict.fromkeys(hashes[val], "val"))
    result[pool] = [unit_split[h] for h in hashes[pool]]
    return pd.Series(result, index=labels.index, name="split", dtype="string")


def map_classes(labels: pd.Series, class_map: dict[str, str | None]) -> tuple[pd.Series, pd.Series]:
    """New label per row, and a mask of the rows whose class `class_map` drops (maps to null)."""
    unknown = sorted(set(class_map) - set(labels.unique()))
    if unknown:
        raise StageError(
            f"split.class_map: class {unknown[0]!r} is not in the dataset "
            f"(classes: {', '.join(sorted(labels.unique()))})"
        )
    mapped = labels.map(lambda name: class_map.get(name, name))
    return mapped, mapped.isna()


def map_hierarchy(
    hierarchy: dict[str, str], class_map: dict[str, str | None], classes: list[str]
) -> tuple[dict[str, str], str]:
    """Each final class's coarse group after `class_map`, or ({}, why not) when a class has none
    or merges classes of different groups."""
    if not hierarchy:
        return {}, "the dataset has no class hierarchy"
    groups: dict[str, set[str]] = {name: set() for name in classes}
    for source, group in hierarchy.items():
        target = class_map.get(source, source)
        if target in groups:
            groups[target].add(group)
    mixed = sorted(name for name, found in groups.items() if len(found) != 1)
    if mixed:
        return {}, f"split.class_map leaves class {mixed[0]!r} without one coarse group"
    return {name: found.pop() for name, found in groups.items()}, ""


def balance_copies(labels: np.ndarray, params: SplitParams) -> np.ndarray:
    """How many times each training row goes into the training arrays (0 = left out).

    `max_per_class` caps every class in any mode; undersample cuts to the smallest class,
    oversample tops up to the largest by repeating random images of the smaller classes.
    """
    copies = np.ones(len(labels), dtype=np.int64)
    if len(labels) == 0:
        return copies
    names, counts = np.unique(labels, return_counts=True)
    target = {"none": None, "undersample": counts.min(), "oversample": counts.max()}[params.balance]
    if params.max_per_class is not None:
        target = min(target or params.max_per_class, params.max_per_class)
    if target is None:
        return copies
    rng = np.random.default_rng(params.seed)
    for name, count in zip(names, counts, strict=True):
        members = np.flatnonzero(labels == name)
        if count > target:
            copies[rng.choice(members, size=count - target, replace=False)] = 0
        elif count < target and params.balance == "oversample":
            extra = rng.choice(members, size=target - count, replace=True)
            np.add.at(copies, extra, 1)
    return copies


def make_splits(
    index: pd.DataFrame, params: SplitParams
) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """The splits table (one row per kept image, in array order), the class list, the report."""
    labels, dropped_by_map = map_classes(index["label"], params.class_map)
    gray = index["is_grayscale"] if "is_grayscale" in index else pd.Series(False, index.index)
    dropped_gray = gray & ~dropped_by_map if params.drop_grayscale else gray & False
    keep = ~(dropped_by_map | dropped_gray)
    table = index.loc[keep, ["row", "path"]].copy()
    table["source_label"] = index.loc[keep, "label"]
    table["label"] = labels[keep].astype(str)
    if table.empty:
        raise StageError("no images left after split.class_map and split.drop_grayscale")
    classes = sorted(table["label"].unique())
    table["label_index"] = table["label"].map({name: i for i, name in enumerate(classes)})
    table["label_index"] = table["label_index"].astype("int64")
    hashes = index.loc[keep, "sha256"] if "sha256" in index else None
    table["split"] = assign_splits(table["label"], index.loc[keep, "split"], params, hashes)
    table["copies"] = np.int64(1)
    train = (table["split"] == "train").to_numpy()
    table.loc[train, "copies"] = balance_copies(table.loc[train, "label"].to_numpy(), params)
    table = table.reset_index(drop=True)
    report = {
        "classes": classes,
        "images": {
            split: table[table["split"] == split].groupby("label").size().to_dict()
            for split in SPLITS
        },
        "train_after_balance": table[train].groupby("label")["copies"].sum().to_dict(),
        "dropped": {"class_map": int(dropped_by_map.sum()), "grayscale": int(dropped_gray.sum())},
        "balance": params.balance,
    }
    return table, classes, report


def split_arrays(
    images: np.ndarray, table: pd.DataFrame, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """One split's images and label indices, in `table` order; training rows repeat `copies`
    times (0 after undersampling, more than 1 when oversampled)."""
    part = table[table["split"] == split]
    copies = part["copies"].to_numpy()
    rows = np.repeat(part["row"].to_numpy(), copies)
    labels = np.repeat(part["label_index"].to_numpy(np.int64), copies)
    return np.ascontiguousarray(images[rows]), labels
