"""Stage 1, `download`: fetch the raw dataset into `data/raw/` in image-folder layout.

Output (immutable afterwards):
  data/raw/images/[<split>/]<class>/<file>   the images, exactly as the source has them
  data/raw/dataset.json                      name, classes, splits and the image count the
                                             source declares per split and class

Sources (`data.source`): `digits` (scikit-learn's bundled set, written out as PNGs), or a local
folder or `.tar.gz`/`.tgz` archive in `<class>/<image>` or `<split>/<class>/<image>` layout.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tarfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from stages.artifacts import atomic_dir, write_json
from stages.errors import StageError, run_stage
from stages.params import DataParams, load_params

SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
ALL_SPLITS = "all"  # key for declared counts when the dataset has no splits of its own


class SourceError(StageError):
    """The configured source cannot be read or is not in a supported layout."""


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

    @classmethod
    def from_entries(cls, name: str, source: str, entries: list[RawEntry]) -> DatasetInfo:
        counts: dict[str, Counter[str]] = {}
        for entry in entries:
            counts.setdefault(entry.split or ALL_SPLITS, Counter())[entry.label] += 1
        return cls(
            name=name,
            source=source,
            classes=sorted({entry.label for entry in entries}),
            splits=sorted({entry.split for entry in entries if entry.split}),
            declared_counts={split: dict(sorted(c.items())) for split, c in sorted(counts.items())},
        )


def is_junk(relpath: str) -> bool:
    """Files no dataset means as images: hidden files, OS metadata, editor checkpoints."""
    parts = PurePosixPath(relpath).parts
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


def strip_wrapper_folders(relpaths: list[str]) -> tuple[str, list[str]]:
    """Drop leading folders every path shares (`cifar10-jpg/train/cat/1.jpg` -> `train/cat/1.jpg`).

    A shared first folder is kept when it is a split name or when removing it would leave files
    outside any class folder. Returns the stripped prefix and the stripped paths.
    """
    prefix: list[str] = []
    parts = [PurePosixPath(p).parts for p in relpaths]
    while parts and all(len(p) >= 3 for p in parts):
        first = {p[0] for p in parts}
        if len(first) != 1 or next(iter(first)).lower() in SPLIT_ALIASES:
            break
        prefix.append(parts[0][0])
        parts = [p[1:] for p in parts]
    return "/".join(prefix), [str(PurePosixPath(*p)) for p in parts]


def parse_layout(relpaths: list[str]) -> list[RawEntry]:
    """Place each file in its class (and split), or fail naming the first misplaced file."""
    if not relpaths:
        raise SourceError("the source holds no image files")
    entries = []
    for relpath in relpaths:
        parts = PurePosixPath(relpath).parts
        if ".." in parts or PurePosixPath(relpath).is_absolute():
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


def write_digits(images_dir: Path, max_per_class: int | None, seed: int) -> list[RawEntry]:
    images, labels = digits_images()
    entries = [
        RawEntry(f"{label}/{index:04d}.png", label=str(label), split=None)
        for index, label in enumerate(labels)
    ]
    kept = select_per_class(entries, max_per_class, seed)
    for entry in kept:
        index = int(PurePosixPath(entry.relpath).stem)
        target = images_dir / entry.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[index], mode="L").save(target, format="PNG")
    return kept


def copy_folder(
    source: Path, images_dir: Path, max_per_class: int | None, seed: int
) -> list[RawEntry]:
    files = sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    prefix, stripped = strip_wrapper_folders([f for f in files if not is_junk(f)])
    kept = select_per_class(parse_layout(stripped), max_per_class, seed)
    for entry in kept:
        target = images_dir / entry.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / prefix / entry.relpath, target)
    return kept


def extract_tar(
    archive: Path, images_dir: Path, max_per_class: int | None, seed: int
) -> list[RawEntry]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            # `tar czf x.tgz .` stores "./cat/1.png": drop that prefix, not the dot of ".DS_Store".
            members = {
                m.name.removeprefix("./").lstrip("/"): m for m in tar.getmembers() if m.isfile()
            }
            prefix, stripped = strip_wrapper_folders([n for n in members if not is_junk(n)])
            kept = select_per_class(parse_layout(stripped), max_per_class, seed)
            # Read members in archive order so the gzip stream is only ever read forwards.
            wanted = {f"{prefix}/{e.relpath}" if prefix else e.relpath: e for e in kept}
            for name, member in members.items():
                entry = wanted.get(name)
                if entry is None:
                    continue
                target = images_dir / entry.relpath
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, dst)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SourceError(f"{archive}: cannot read archive: {exc}") from exc
    return kept


def fetch(params: DataParams, raw_dir: Path) -> DatasetInfo:
    """Write the configured source into `raw_dir` (atomically) and return what it declares."""
    source = params.source
    with atomic_dir(raw_dir) as staging:
        images_dir = staging / "images"
        images_dir.mkdir()
        if source == "digits":
            entries = write_digits(images_dir, params.max_per_class, params.seed)
            name = "digits"
        else:
            path = Path(source).expanduser()
            if path.is_dir():
                entries = copy_folder(path, images_dir, params.max_per_class, params.seed)
            elif path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES):
                entries = extract_tar(path, images_dir, params.max_per_class, params.seed)
            else:
                raise SourceError(
                    f"data.source: {source!r} is neither 'digits' nor an existing folder "
                    f"or {'/'.join(ARCHIVE_SUFFIXES)} archive"
                )
            name = path.name.removesuffix(".gz").removesuffix(".tar").removesuffix(".tgz")
        info = DatasetInfo.from_entries(name, source, entries)
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
