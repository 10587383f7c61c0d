"""Datasets that ship images in a folder plus one file of labels (e.g. GDXray's `labels.txt`).

Which label belongs to which image is a parameter (`data.labels_order`):
  sorted  label i belongs to image i in natural file-name order (img2 before img10, as a file
          browser lists them). A text file holds one label per line; a .csv file a `label`
          column.
  id      each row names its image: a text file holds `<file> <label>` per line; a .csv file has
          `id` and `label` columns. `<file>` is the path relative to the labels file's folder.
Labels written as numbers are classes: `1.0000000e+00` and `1` are both class "1".
A count mismatch is never silently zipped: `data.on_label_mismatch` says fail or keep only the
labelled images, and the report names both counts either way.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from imgflow.common.errors import SourceError

Order = Literal["sorted", "id"]
Policy = Literal["fail", "labelled_only"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


class LabelsError(SourceError):
    """The labels file cannot be read or does not match the images."""


def normalise_label(raw: str, where: str) -> str:
    """The class name a label stands for: numbers written as floats become whole numbers."""
    label = raw.strip()
    try:
        value = float(label)
    except ValueError:
        value = None
    if value is not None:
        if not math.isfinite(value) or value != int(value):
            raise LabelsError(f"{where}: label {raw!r} is not a whole-number class")
        return str(int(value))
    if not label or label.startswith(".") or "/" in label or "\\" in label:
        raise LabelsError(f"{where}: {raw!r} cannot be a class name (it is used as a folder name)")
    return label


def parse_labels(data: bytes, filename: str, order: Order) -> pd.DataFrame:
    """Rows of `line` (1-based, for messages), `id` (None in sorted order) and `label`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{filename}: not UTF-8 text: {exc}") from None
    rows = (
        _parse_csv(text, filename, order)
        if filename.lower().endswith(".csv")
        else _parse_text(text, filename, order)
    )
    table = pd.DataFrame(rows, columns=["line", "id", "label"])
    table["label"] = [
        normalise_label(raw, f"{filename} line {line}")
        for line, raw in zip(table["line"], table["label"], strict=True)
    ]
    if order == "id":
        repeated = table[table["id"].duplicated(keep="first")]
        if len(repeated):
            line, ident = repeated.iloc[0][["line", "id"]]
            first = table.loc[table["id"] == ident, "line"].iloc[0]
            raise LabelsError(
                f"{filename} line {line}: {ident!r} is labelled more than once "
                f"(first on line {first})"
            )
    if table.empty:
        raise LabelsError(f"{filename}: holds no labels")
    return table


def _parse_text(text: str, filename: str, order: Order) -> list[tuple[int, str | None, str]]:
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # trailing blank lines are only formatting
        lines.pop()
    rows: list[tuple[int, str | None, str]] = []
    for number, line in enumerate(lines, start=1):
        fields = re.split(r"[\s,]+", line.strip()) if line.strip() else []
        expected = 1 if order == "sorted" else 2
        if len(fields) != expected:
            shape = "one label" if order == "sorted" else "`<file> <label>`"
            # In sorted order a blank line would shift every later label onto the wrong image.
            raise LabelsError(f"{filename} line {number}: expected {shape}, got {line!r}")
        rows.append(
            (number, None, fields[0]) if order == "sorted" else (number, fields[0], fields[1])
        )
    return rows


def _parse_csv(text: str, filename: str, order: Order) -> list[tuple[int, str | None, str]]:
    try:
        table = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LabelsError(f"{filename}: not a readable CSV file: {exc}") from None
    needed = ["label"] if order == "sorted" else ["id", "label"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise LabelsError(
            f"{filename}: no {', '.join(missing)} column (columns: {list(table.columns)}); "
            f"data.labels_order is {order!r}"
        )
    ids = table["id"].tolist() if order == "id" else [None] * len(table)
    return [
        (i + 2, ident, label)
        for i, (ident, label) in enumerate(zip(ids, table["label"], strict=True))
    ]


def natural_key(name: str) -> list[int | str]:
    """Sort key reading digit runs as numbers: `img2` < `img10` (plain sorting puts 10 first).

    Unpadded numbering is common in labelled sets, and a plain sort would pair those images
    with the wrong labels.
    """
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class Matched:
    pairs: list[tuple[str, str]]  # (image name, class), images in natural order
    note: str | None  # the mismatch, when `labelled_only` let it through


def match_labels(
    labels: pd.DataFrame, images: list[str], order: Order, policy: Policy, filename: str
) -> Matched:
    """Pair each image with its label, or fail naming both counts (and the unmatched files)."""
    images = sorted(images, key=natural_key)
    if not images:
        raise LabelsError(f"{filename}: no image files beside it ({'/'.join(IMAGE_SUFFIXES)})")
    if order == "sorted":
        n_labels, n_images = len(labels), len(images)
        pairs = list(zip(images, labels["label"], strict=False))
        problem = None
        if n_labels != n_images:
            problem = (
                f"{filename}: {n_labels} labels for {n_images} images (in natural file-name order)"
            )
    else:
        by_id = dict(zip(labels["id"], labels["label"], strict=True))
        present = set(images)
        pairs = [(name, by_id[name]) for name in images if name in by_id]
        unlabelled = [name for name in images if name not in by_id]
        unknown = [ident for ident in labels["id"] if ident not in present]
        problem = None
        if unlabelled or unknown:
            problem = (
                f"{filename}: {len(labels)} labels for {len(images)} images; "
                f"{len(unlabelled)} images have no label (e.g. {unlabelled[:3]}), "
                f"{len(unknown)} labels name no image (e.g. {unknown[:3]})"
            )
    if problem is None:
        return Matched(pairs, None)
    if policy == "fail":
        raise LabelsError(
            f"{problem}; set data.on_label_mismatch: labelled_only to keep only the "
            f"{len(pairs)} labelled images"
        )
    if not pairs:
        raise LabelsError(f"{problem}; no image has a label")
    return Matched(
        pairs,
        f"{problem}; keeping the {len(pairs)} labelled images "
        "(data.on_label_mismatch: labelled_only)",
    )


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def flat_name(relpath: str) -> str:
    """An image's file name in its class folder: nested paths are joined with `__`."""
    return relpath.replace("/", "__")
