"""Per-file work spread over all cores (decoding is CPU-bound, so processes, not threads)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_FROM = 2000  # below this many items a process pool costs more than it saves
CHUNK = 256  # items per task: large enough to amortise the pickling of each call


def map_files(fn: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`[fn(item) for item in items]`, in order, on every core when there are enough items."""
    workers = os.cpu_count() or 1
    if len(items) < PARALLEL_FROM or workers == 1:
        return [fn(item) for item in items]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items, chunksize=CHUNK))
