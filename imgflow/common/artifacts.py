"""Atomic writers for stage outputs: write to a temp file beside the target, then `os.replace`.

A crash mid-write leaves the previous result in place, never a half-written file.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is slow to import; stages that write no table skip it
    import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Errors of writing, not of the data: reported against the output being written.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_UMASK = _current_umask()


@contextmanager
def atomic_file(target: Path | str) -> Iterator[Path]:
    """Yield a temp path in the target's folder; on success it replaces `target`."""
    target = Path(target)
    with naming_target(target):
        yield from _atomic_file(target)


@contextmanager
def naming_target(target: Path) -> Iterator[None]:
    """A full disk or a folder it may not write to names the output, not its temp file (or
    nothing: a failed write() names no file at all)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        temp = f".{target.name}."
        ours = exc.filename is None or any(
            part.startswith(temp) for part in Path(str(exc.filename)).parts
        )
        if not ours:
            raise
        raise OSError(exc.errno, exc.strerror, str(target)) from exc


def _atomic_file(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix last: some writers (Keras) choose the format from it.
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; on success it takes `target`'s place."""
    target = Path(target)
    with naming_target(target):
        yield from _atomic_dir(target)


def _atomic_dir(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        if target.exists():
            # Two renames: the old folder is out of the way only once the new one is complete.
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stale_temps(target: Path | str) -> list[Path]:
    """What an atomic write of `target` leaves when its process is killed: the temp file or
    folder beside it (`.<name>.*.tmp*`) and a folder swap's `.<name>.old`."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    found = set(target.parent.glob(f".{glob.escape(target.name)}.*.tmp*"))
    found |= {p for p in [target.with_name(f".{target.name}.old")] if p.exists()}
    return sorted(found)


def sweep_stale_temps(*targets: Path | str) -> list[Path]:
    """Remove the stale temps of each target (call before a stage writes them): their paths.

    Only a killed writer leaves these; DVC does not know them, so nothing else would."""
    removed = []
    for target in targets:
        for path in stale_temps(target):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def json_safe(value: Any) -> Any:
    """Plain JSON values from what pandas and NumPy hand back: numpy scalars become Python
    numbers, mapping keys become strings, and NaN becomes null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(data: Any, target: Path | str) -> None:
    with atomic_file(target) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=2, sort_keys=False) + "\n")


def write_text(text: str, target: Path | str) -> None:
    with atomic_file(target) as tmp:
        tmp.write_text(text)


def write_parquet(table: pd.DataFrame, target: Path | str) -> None:
    with atomic_file(target) as tmp:
        table.to_parquet(tmp, index=False, engine="pyarrow")


def write_npy(array: np.ndarray, target: Path | str) -> None:
    with atomic_file(target) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


@contextmanager
def atomic_npy(
    target: Path | str, shape: tuple[int, ...], dtype: np.dtype[Any] | str
) -> Iterator[np.memmap]:
    """Yield a zero-filled `.npy` array mapped from a temp file beside `target`; on success it
    is flushed and replaces `target`. Worker processes can fill it in place by its `filename`
    (np.load with mmap_mode="r+"), instead of sending the pixels back to be copied and saved."""
    with atomic_file(target) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        yield array
        array.flush()


def file_sha256(path: Path) -> str:
    """A file's sha256, read in 1 MiB steps."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())
