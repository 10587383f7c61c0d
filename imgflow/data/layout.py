"""Where a raw image belongs: its split and class, from its path in image-folder layout."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from imgflow.common.errors import SourceError

SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}


ALL_SPLITS = "all"  # key for declared counts when the dataset has no splits of its own


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
    # Source files never stored: junk by its name alone; anything else as "name (why)" (a link,
    # a name that is not UTF-8, a file over data.max_file_bytes). Names not in UTF-8 escaped.
    ignored: list[str]
    hierarchy: dict[str, str]  # class -> coarse group (CIFAR-100 fine labels); else empty
    # Whether a mirrored image keeps its class, where the source knows (digits: no; CIFAR's
    # photos: yes); None for a user's own images. `train.augmentation.flip: auto` reads it.
    mirror_safe: bool | None = None

    @classmethod
    def from_entries(
        cls,
        name: str,
        source: str,
        entries: list[RawEntry],
        ignored: list[str] | None = None,
        hierarchy: dict[str, str] | None = None,
        mirror_safe: bool | None = None,
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
            mirror_safe=mirror_safe,
        )


def is_junk(relpath: str) -> bool:
    """Files no dataset means as images: hidden files, OS metadata, editor checkpoints."""
    parts = relpath.split("/")  # str.split, not PurePosixPath: far cheaper, once per file
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


SPLITS = ("train", "val", "test")
