"""Stage 1, `download`: fetch the raw dataset into `data/raw/`.

Output (immutable afterwards):
  data/raw/images.parquet   every image file's bytes, exactly as the source has them, under its
                            path `[<split>/]<class>/<file>` (stages/raw_store.py says why one table)
  data/raw/dataset.json     name, classes, splits, the image count the source declares per split
                            and class, and the junk files left out (.DS_Store, Thumbs.db, ...)

Sources (`data.source`):
  digits            scikit-learn's bundled set, written out as PNGs (offline, the default)
  cifar10/cifar100  the publisher's python archives, checksum-verified; the publisher's
                    train/test split is kept (train/<class>/..., test/<class>/...)
  a folder, archive (.tar.gz/.tgz/.tar/.zip) or http(s)/file URL of one, in `<class>/<image>`
                    or `<split>/<class>/<image>` layout; or, with `data.labels_file`, images
                    plus a labels file (stages/labels_file.py), stored as <class>/<file>
Downloads are cached in `data.cache_dir` (stages/fetching.py), outside data/raw, which DVC
deletes before each run.
"""

from __future__ import annotations

import argparse
import io
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from stages.artifacts import atomic_dir, write_json
from stages.cifar import SPECS, read_cifar
from stages.errors import run_stage
from stages.fetching import (
    ARCHIVE_SUFFIXES,
    Checksum,
    SourceError,
    Tree,
    archive_kind,
    expected_checksums,
    fetch_url,
    is_url,
    open_tree,
    sniff_archive,
    url_basename,
    verify,
)
from stages.parallel import map_stream
from stages.params import DataParams, load_params
from stages.raw_store import IMAGES_TABLE, write_images

SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
ALL_SPLITS = "all"  # key for declared counts when the dataset has no splits of its own
PNG_COMPRESS_LEVEL = 1  # CIFAR is 60,000 PNGs: fast encoding matters more than a few KB each

__all__ = ["SourceError", "fetch", "main"]  # SourceError lives in fetching; re-exported here


@dataclass(frozen=True)
class RawEntry:
    """One image file of the source, placed in its split and class."""

    relpath: str  # path under data/raw/images, posix style
    label: str
    split: str | None  # normalised split name, None when the source has no splits


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    source: str
    classes: list[str]
    splits: list[str]
    declared_counts: dict[str, dict[str, int]]  # split (or "all") -> class -> image count
    ignored: list[str]  # junk files in the source, never stored: never a class or an image
    hierarchy: dict[str, str]  # class -> coarse group (CIFAR-100 fine labels); else empty

    @classmethod
    def from_entries(
        cls,
        name: str,
        source: str,
        entries: list[RawEntry],
        ignored: list[str] | None = None,
        hierarchy: dict[str, str] | None = None,
    ) -> DatasetInfo:
        counts: dict[str, Counter[str]] = {}
        for entry in entries:
            counts.setdefault(entry.split or ALL_SPLITS, Counter())[entry.label] += 1
        return cls(
            name=name,
            source=source,
            classes=sorted({entry.label for entry in entries}),
            splits=sorted({entry.split for entry in entries if entry.split}),
            declared_counts={split: dict(sorted(c.items())) for split, c in sorted(counts.items())},
            ignored=sorted(ignored or []),
            hierarchy=dict(sorted((hierarchy or {}).items())),
        )


def is_junk(relpath: str) -> bool:
    """Files no dataset means as images: hidden files, OS metadata, editor checkpoints."""
    parts = relpath.split("/")  # str.split, not PurePosixPath: 60,000 paths, 20x faster
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


def strip_wrapper_folders(relpaths: list[str]) -> tuple[str, list[str]]:
    """Drop leading folders every path shares (`cifar10-jpg/train/cat/1.jpg` -> `train/cat/1.jpg`).

    A shared first folder is kept when it is a split name or when removing it would leave files
    outside any class folder. Returns the stripped prefix and the stripped paths.
    """
    prefix: list[str] = []
    parts = [p.split("/") for p in relpaths]
    while parts and all(len(p) >= 3 for p in parts):
        first = {p[0] for p in parts}
        if len(first) != 1 or next(iter(first)).lower() in SPLIT_ALIASES:
            break
        prefix.append(parts[0][0])
        parts = [p[1:] for p in parts]
    return "/".join(prefix), ["/".join(p) for p in parts]


def parse_layout(relpaths: list[str]) -> list[RawEntry]:
    """Place each file in its class (and split), or fail naming the first misplaced file."""
    if not relpaths:
        raise SourceError("the source holds no image files")
    entries = []
    for relpath in relpaths:
        parts = relpath.split("/")
        if ".." in parts or relpath.startswith("/"):
            raise SourceError(f"{relpath}: path leaves the dataset folder")
        if len(parts) == 2:
            entries.append(RawEntry(relpath, label=parts[0], split=None))
        elif len(parts) == 3 and parts[0].lower() in SPLIT_ALIASES:
            entries.append(RawEntry(relpath, label=parts[1], split=SPLIT_ALIASES[parts[0].lower()]))
        else:
            raise SourceError(
                f"{relpath}: not in image-folder layout; expected <class>/<image> "
                "or <split>/<class>/<image> with split one of train, val, test"
            )
    if len({entry.split is None for entry in entries}) > 1:
        raise SourceError("the source mixes <class>/<image> and <split>/<class>/<image> files")
    return entries


def select_per_class(
    entries: list[RawEntry], max_per_class: int | None, seed: int
) -> list[RawEntry]:
    """Keep at most `max_per_class` entries per (split, class), a seeded random choice.

    Sorting first makes the choice independent of the order files were listed in.
    """
    ordered = sorted(entries, key=lambda e: e.relpath)
    if max_per_class is None:
        return ordered
    groups: dict[tuple[str | None, str], list[RawEntry]] = {}
    for entry in ordered:
        groups.setdefault((entry.split, entry.label), []).append(entry)
    rng = random.Random(seed)
    kept: list[RawEntry] = []
    for key in sorted(groups, key=lambda k: (k[0] or "", k[1])):
        group = groups[key]
        kept.extend(group if len(group) <= max_per_class else rng.sample(group, max_per_class))
    return sorted(kept, key=lambda e: e.relpath)


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 8x8 grayscale images (0..16 scaled to 0..255) and labels."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no network

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def write_digits(table: Path, max_per_class: int | None, seed: int) -> list[RawEntry]:
    images, labels = digits_images()
    entries = [
        RawEntry(f"{label}/{index:04d}.png", label=str(label), split=None)
        for index, label in enumerate(labels)
    ]
    kept = select_per_class(entries, max_per_class, seed)
    write_images(
        png_rows(kept, lambda entry: images[int(PurePosixPath(entry.relpath).stem)]), table
    )
    return kept


def png_rows(
    entries: list[RawEntry], pixels: Callable[[RawEntry], np.ndarray]
) -> Iterator[tuple[str, bytes]]:
    """(path, PNG bytes) of each entry's pixels, encoded on every core."""
    encoded = map_stream(encode_png, (pixels(e) for e in entries), len(entries))
    return zip((e.relpath for e in entries), encoded, strict=True)


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def cifar_entries(classes: list[str], split: str, labels: np.ndarray) -> list[RawEntry]:
    """One entry per image, named by its row in the split (the publisher's order)."""
    return [
        RawEntry(f"{split}/{classes[label]}/{row:05d}.png", label=classes[label], split=split)
        for row, label in enumerate(labels)
    ]


def write_cifar(params: DataParams, table: Path) -> tuple[str, list[RawEntry], dict[str, str]]:
    spec = SPECS[params.source]
    checksums = expected_checksums(params.md5, params.sha256) or [Checksum("md5", spec.md5)]
    archive = fetch_url(params.url or spec.url, Path(params.cache_dir), checksums)
    data = read_cifar(archive, spec, params.label_mode)
    entries = []
    for split, (_, labels) in data.splits.items():
        entries += cifar_entries(data.classes, split, labels)
    kept = select_per_class(entries, params.max_per_class, params.seed)
    # Every CIFAR entry has a split; its file stem is its row in that split's array.
    rows = png_rows(
        kept, lambda e: data.splits[str(e.split)][0][int(PurePosixPath(e.relpath).stem)]
    )
    write_images(rows, table)
    name = spec.name if params.label_mode == "fine" else f"{spec.name}-{params.label_mode}"
    return name, kept, data.hierarchy


def image_folder_entries(tree: Tree) -> dict[str, RawEntry]:
    """The tree's images by their name in the tree, placed by image-folder layout (junk left
    out)."""
    names = [n for n in tree.names if not is_junk(n)]
    prefix, stripped = strip_wrapper_folders(names)
    entries = parse_layout(stripped)
    return {f"{prefix}/{e.relpath}" if prefix else e.relpath: e for e in entries}


def labels_file_entries(tree: Tree, params: DataParams) -> dict[str, RawEntry]:
    """The images beside `data.labels_file` (in it or below), each in its labelled class."""
    # Imported here: it needs pandas (0.35 s), which image-folder sources do without.
    from stages.labels_file import flat_name, is_image, match_labels, parse_labels

    wanted = str(params.labels_file).strip("/")
    found = [n for n in tree.names if n == wanted or n.endswith(f"/{wanted}")]
    if len(found) != 1:
        raise SourceError(
            f"data.labels_file: {wanted!r} found {len(found)} times in {params.source!r}"
            + (f" ({', '.join(found[:5])})" if found else "")
        )
    labels_name = found[0]
    folder = PurePosixPath(labels_name).parent
    prefix = "" if folder == PurePosixPath(".") else f"{folder}/"
    images = [
        n.removeprefix(prefix)
        for n in tree.names
        if n.startswith(prefix) and is_image(n) and not is_junk(n.removeprefix(prefix))
    ]
    table = parse_labels(tree.read_bytes(labels_name), labels_name, params.labels_order)
    matched = match_labels(
        table, images, params.labels_order, params.on_label_mismatch, labels_name
    )
    if matched.note:
        print(f"download: {matched.note}")
    entries = {
        prefix + image: RawEntry(f"{label}/{flat_name(image)}", label=label, split=None)
        for image, label in matched.pairs
    }
    if len({e.relpath for e in entries.values()}) != len(entries):
        raise SourceError(f"{labels_name}: two images map to the same output file name")
    return entries


def open_source(params: DataParams) -> tuple[str, Path, str]:
    """(dataset name, local path, "folder" | "tar" | "zip") of a non-builtin source.

    A URL is downloaded (or taken from the cache); an archive is checksum-verified when
    `data.md5`/`data.sha256` is given, before anything is read from it.
    """
    source = params.source
    checksums = expected_checksums(params.md5, params.sha256)
    if is_url(source):
        basename = url_basename(source)
        path = fetch_url(source, Path(params.cache_dir), checksums)
        kind = archive_kind(Path(basename)) or sniff_archive(path)
        if kind is None:
            raise SourceError(f"data.source: {source!r} is not a tar or zip archive")
        return dataset_name(basename), path, kind
    path = Path(source).expanduser()
    if path.is_dir():
        if checksums:
            raise SourceError(f"data.md5/data.sha256: {source!r} is a folder, not a file to check")
        return path.name, path, "folder"
    kind = archive_kind(path)
    if path.is_file() and kind is not None:
        verify(path, checksums, str(path))
        return dataset_name(path.name), path, kind
    raise SourceError(
        f"data.source: {source!r} is not 'digits', 'cifar10', 'cifar100', an http(s)/file URL, "
        f"or an existing folder or {'/'.join(ARCHIVE_SUFFIXES)} archive"
    )


def dataset_name(filename: str) -> str:
    lower = filename.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def write_tree_source(params: DataParams, table: Path) -> tuple[str, list[RawEntry], list[str]]:
    """Store the source's images; return its name, the stored entries and the junk names."""
    name, path, kind = open_source(params)
    with open_tree(path, kind) as tree:  # type: ignore[arg-type]
        if params.labels_file is not None:
            by_name = labels_file_entries(tree, params)
        else:
            by_name = image_folder_entries(tree)
        kept = set(select_per_class(list(by_name.values()), params.max_per_class, params.seed))
        write_images(
            tree.iter_bytes({n: e.relpath for n, e in by_name.items() if e in kept}), table
        )
        ignored = [n for n in tree.names if is_junk(n)]
    return name, sorted(kept, key=lambda e: e.relpath), ignored


def fetch(params: DataParams, raw_dir: Path) -> DatasetInfo:
    """Write the configured source into `raw_dir` (atomically) and return what it declares."""
    with atomic_dir(raw_dir) as staging:
        table = staging / IMAGES_TABLE
        ignored: list[str] = []
        hierarchy: dict[str, str] = {}
        if params.source == "digits":
            name, entries = "digits", write_digits(table, params.max_per_class, params.seed)
        elif params.source in SPECS:
            name, entries, hierarchy = write_cifar(params, table)
        else:
            name, entries, ignored = write_tree_source(params, table)
        info = DatasetInfo.from_entries(name, params.source, entries, ignored, hierarchy)
        write_json(asdict(info), staging / "dataset.json")
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="output folder, e.g. data/raw")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_params(args.params).data
    info = fetch(params, args.raw_dir)
    total = sum(sum(c.values()) for c in info.declared_counts.values())
    print(
        f"download: {total} images in {len(info.classes)} classes "
        f"from {info.source!r} -> {args.raw_dir}"
    )


if __name__ == "__main__":
    run_stage("download", main)
