"""Per-file work spread over all cores (decoding is CPU-bound, so processes, not threads)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from itertools import islice
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_FROM = 2000  # below this many items a process pool costs more than it saves
CHUNK = 256  # items per task: large enough to amortise the pickling of each call
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker: keeps cores busy, bounds memory


def map_stream(
    fn: Callable[[Item], Result],
    items: Iterable[Item],
    count: int,
    after_start: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """`map(fn, items)` in order, on every core when `count` (the items' number) is large."""
    for results in map_chunks(partial(_apply, fn), items, count, after_start):
        yield from results


def map_chunks(
    fn: Callable[[list[Item]], Result],
    items: Iterable[Item],
    count: int,
    after_start: Callable[[], None] | None = None,
    worker_niceness: int = 0,
) -> Iterator[Result]:
    """`fn` of each run of CHUNK consecutive items, in order, on every core when `count` (the
    items' number) is large. One result per chunk lets a worker send back one array, not many.

    Items are read lazily and at most a few chunks per worker are in flight, so a stream of file
    contents is never held in memory whole. `after_start` runs once the worker processes exist:
    work started there (a slow import in a thread) overlaps the pool's, and threads started after
    the fork cannot leave a held lock in a worker. `worker_niceness` (0-19) lowers the workers'
    CPU priority, so that work of `after_start` the caller waits on longer gets a core first.
    """
    iterator = iter(items)
    chunks = iter(lambda: list(islice(iterator, CHUNK)), [])
    workers = os.cpu_count() or 1
    if count < PARALLEL_FROM or workers == 1:
        if after_start is not None:
            after_start()
        yield from map(fn, chunks)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=os.nice, initargs=(worker_niceness,)
    ) as pool:
        pending: deque[Future[Result]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(fn, chunk))
            if len(pending) == 1 and after_start is not None:
                after_start()  # the first submit forked every worker
                after_start = None
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield pending.popleft().result()
        if after_start is not None:
            after_start()
        while pending:
            yield pending.popleft().result()


def _apply(fn: Callable[[Item], Result], chunk: list[Item]) -> list[Result]:
    return [fn(item) for item in chunk]
