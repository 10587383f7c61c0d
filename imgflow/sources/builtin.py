"""The built-in sources: scikit-learn's digits and the publisher's CIFAR archives, as PNGs."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from imgflow.common.parallel import map_stream
from imgflow.data.layout import RawEntry, select_per_class
from imgflow.data.raw_store import write_images
from imgflow.params.data import DataParams
from imgflow.sources.cifar import SPECS, read_cifar
from imgflow.sources.fetching import (
    Checksum,
    expected_checksums,
    fetch_url,
)

PNG_COMPRESS_LEVEL = 1  # CIFAR is 60,000 PNGs: fast encoding matters more than a few KB each


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
