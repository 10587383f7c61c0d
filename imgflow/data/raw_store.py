"""data/raw's image store: every source file's bytes, exactly as the source has them, in one
Parquet table (`images.parquet`: `path`, `content`).

One file instead of one per image: writing tens of thousands of small files is slow, and DVC
then hashes, caches and pushes one object instead of one per image
(docs/decisions/one-table-raw-store.md). The bytes are never decoded or changed on the way in,
so the table is the immutable raw data; later stages read it in batches.

Memory stays bounded however large the files: rows are written in groups bounded in bytes as
well as rows, and read back one group at a time.
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
# Bytes buffered before a write, so a group of large files stays small too: far below the 2 GiB
# one Arrow binary array can hold (32-bit offsets), whatever the files.
GROUP_BYTES = 64 << 20
# Parquet keeps a value's length, and its page's, in 32 bits: one file must stay under 2 GiB,
# with room for the page's own bytes (data.max_file_bytes is capped to the same).
MAX_VALUE_BYTES = (1 << 31) - (1 << 20)
READ_BATCH = 1024


def is_utf8(name: str) -> bool:
    """False for a name holding bytes that are not UTF-8 (os and tarfile keep each such byte
    as a lone surrogate), which the table's paths, UTF-8 text, cannot hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """`name` as text any file or terminal takes: each byte that is not UTF-8 as `\\xNN`."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def write_images(rows: Iterable[tuple[str, bytes]], dest: Path) -> int:
    """Write (relative posix path, file bytes) rows to `dest`; return the row count.

    No compression: image files are compressed already, so it would cost time for nothing. Nor
    a dictionary or min/max statistics for the contents: file bytes rarely repeat, no reader
    looks them up, and both copy every value again, several times over for a large file.
    """
    count = 0
    with pq.ParquetWriter(
        dest,
        SCHEMA,
        compression="none",
        use_dictionary=["path"],
        write_statistics=["path"],
    ) as writer:
        batch: list[tuple[str, bytes]] = []
        batch_bytes = 0
        for path, content in rows:
            if len(content) > MAX_VALUE_BYTES:
                raise StageError(
                    f"{shown(path)}: {len(content):,} bytes, more than the image table can hold "
                    f"in one value ({MAX_VALUE_BYTES:,})"
                )
            if batch and (len(batch) == ROWS_PER_GROUP or batch_bytes + len(content) > GROUP_BYTES):
                writer.write_table(_table(batch))
                count += len(batch)
                batch, batch_bytes = [], 0
            batch.append((path, content))
            batch_bytes += len(content)
        if batch or count == 0:
            writer.write_table(_table(batch))
            count += len(batch)
    return count


def _table(rows: list[tuple[str, bytes]]) -> pa.Table:
    try:
        paths = pa.array([path for path, _ in rows], pa.string())
    except UnicodeEncodeError:
        bad = next(path for path, _ in rows if not is_utf8(path))
        raise StageError(f"{shown(bad)}: file name is not valid UTF-8") from None
    if len(rows) == 1:
        # A file alone in its group is often a large one: wrap its bytes rather than copy them.
        content = rows[0][1]
        offsets = pa.array([0, len(content)], pa.int32()).buffers()[1]
        contents = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(content)])
    else:
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
    """(path, bytes) of every stored file, in storage order, read a batch at a time.

    Batches never span row groups, which write_images bounds in bytes: a batch of READ_BATCH
    rows across many groups of large files would not be.
    """
    table = pq.ParquetFile(images_table(raw_dir))
    for group in range(table.num_row_groups):
        for batch in table.iter_batches(
            batch_size=READ_BATCH, row_groups=[group], columns=["path", "content"]
        ):
            paths = batch.column(0).to_pylist()
            contents = batch.column(1).to_pylist()
            yield from zip(paths, contents, strict=True)
