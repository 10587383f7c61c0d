"""Every raw file hashed and fully decoded once, in parallel: the manifest's facts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from imgflow.common.parallel import map_chunks
from imgflow.data.imaging import PILLOW_MAX_PIXELS, ImageRejected, decode_bytes
from imgflow.data.layout import parse_layout
from imgflow.data.raw_store import iter_contents, read_paths
from imgflow.data.stats import channel_sums_of_each

OK = "ok"


QUARANTINED = "quarantined"


MANIFEST_COLUMNS = [
    "path",
    "label",
    "split",
    "format",
    "width",
    "height",
    "mode",
    "bytes",
    "sha256",
    "status",
    "reason",
    "error",
]


class FileFacts(NamedTuple):
    """What one worker learns about one file (a tuple: cheap to send back from a process)."""

    bytes: int
    sha256: str
    format: str
    width: int
    height: int
    mode: str  # as stored in the file (CMYK, P, I;16, ...); decode makes it RGB or L
    reason: str  # "" or one of imaging.DECODE_REASONS
    error: str


def inspect_bytes(
    data: bytes, max_pixels: int = PILLOW_MAX_PIXELS
) -> tuple[FileFacts, np.ndarray | None]:
    """Hash a file's bytes and fully decode them: its facts, and its pixels (None if rejected)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        decoded = decode_bytes(data, max_pixels)
    except ImageRejected as exc:
        return FileFacts(len(data), digest, "", 0, 0, "", exc.reason, exc.detail), None
    height, width = decoded.pixels.shape[:2]
    facts = FileFacts(len(data), digest, decoded.format, width, height, decoded.source_mode, "", "")
    return facts, decoded.pixels


def inspect_chunk(
    contents: list[bytes], max_pixels: int = PILLOW_MAX_PIXELS
) -> tuple[list[FileFacts], np.ndarray]:
    """inspect_bytes of a run of files, and their channel sums (rows x 6, zeros if rejected):
    one array back per run, summed over the run's same-sized images at once."""
    facts, pixels = zip(*(inspect_bytes(data, max_pixels) for data in contents), strict=True)
    return list(facts), channel_sums_of_each(pixels)


# Scan workers run at a lower priority than the GX import, which the stage waits for longest.
SCAN_WORKER_NICENESS = 10


@dataclass(frozen=True)
class Scan:
    manifest: pd.DataFrame  # MANIFEST_COLUMNS; status says only whether the file decoded
    sums: np.ndarray  # rows x 6, data_stats.channel_sums per manifest row


def scan(
    raw_dir: Path,
    max_pixels: int = PILLOW_MAX_PIXELS,
    after_start: Callable[[], None] | None = None,
) -> Scan:
    """Inspect every stored file of download's output, on every core, one read per file."""
    relpaths = read_paths(raw_dir)
    entries = parse_layout(relpaths)
    chunks = list(
        map_chunks(
            partial(inspect_chunk, max_pixels=max_pixels),
            (content for _, content in iter_contents(raw_dir)),
            len(relpaths),
            after_start,
            worker_niceness=SCAN_WORKER_NICENESS,
        )
    )
    facts = [fact for chunk_facts, _ in chunks for fact in chunk_facts]
    sums = np.concatenate([chunk_sums for _, chunk_sums in chunks]) if chunks else np.zeros((0, 6))
    table = pd.DataFrame(facts, columns=FileFacts._fields)
    table.insert(0, "path", [e.relpath for e in entries])
    table.insert(1, "label", [e.label for e in entries])
    table.insert(2, "split", pd.Series([e.split for e in entries], dtype=object))
    table["status"] = np.where(table["reason"] == "", OK, QUARANTINED)
    order = np.argsort(table["path"].to_numpy(), kind="stable")  # storage order -> by path
    return Scan(table[MANIFEST_COLUMNS].iloc[order].reset_index(drop=True), sums[order])


def build_manifest(raw_dir: Path, max_pixels: int = PILLOW_MAX_PIXELS) -> pd.DataFrame:
    return scan(raw_dir, max_pixels).manifest
