"""data/raw's image store: every source file's bytes, exactly as the source has them, in one
Parquet table (`images.parquet`: `path`, `content`).

One file instead of one per image: writing tens of thousands of small files is slow, and DVC
then hashes, caches and pushes one object instead of one per image
(docs/decisions/one-table-raw-store.md). The bytes are never decoded or changed on the way in,
so the table is the immutable raw data; later stages read it in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from imgflow.common.errors import StageError

IMAGES_TABLE = "images.parquet"
SCHEMA = pa.schema([("path", pa.string()), ("content", pa.binary())])
ROWS_PER_GROUP = 4096  # rows buffered before a write: bounded memory, few row groups
READ_BATCH = 1024


def write_images(rows: Iterable[tuple[str, bytes]], dest: Path) -> int:
    """Write (relative posix path, file bytes) rows to `dest`; return the row count.

    No compression: image files are compressed already, so it would cost time for nothing.
    """
    count = 0
    with pq.ParquetWriter(dest, SCHEMA, compression="none") as writer:
        batch: list[tuple[str, bytes]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == ROWS_PER_GROUP:
                writer.write_table(_table(batch))
                count += len(batch)
                batch = []
        if batch or count == 0:
            writer.write_table(_table(batch))
            count += len(batch)
    return count


def _table(rows: list[tuple[str, bytes]]) -> pa.Table:
    paths = pa.array([path for path, _ in rows], pa.string())
    contents = pa.array([content for _, content in rows], pa.binary())
    return pa.table([paths, contents], schema=SCHEMA)


def images_table(raw_dir: Path) -> Path:
    path = raw_dir / IMAGES_TABLE
    if not path.is_file():
        raise StageError(f"{path}: not found; run the download stage first")
    return path


def read_paths(raw_dir: Path) -> list[str]:
    """Every stored path, in storage order (without reading the contents)."""
    return pq.read_table(images_table(raw_dir), columns=["path"])["path"].to_pylist()


def iter_contents(raw_dir: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every stored file, in storage order, read a batch at a time."""
    table = pq.ParquetFile(images_table(raw_dir))
    for batch in table.iter_batches(batch_size=READ_BATCH, columns=["path", "content"]):
        paths = batch.column(0).to_pylist()
        contents = batch.column(1).to_pylist()
        yield from zip(paths, contents, strict=True)
