"""imgflow/common/parallel.py: order-keeping maps over all cores, lazily over a stream."""

from __future__ import annotations

import os

import pytest

from imgflow.common import parallel
from imgflow.common.parallel import map_chunks, map_stream


def square(value: int) -> int:
    return value * value


def worker_pid(_: int) -> int:
    return os.getpid()


def worker_niceness(_: list[int]) -> int:
    return os.nice(0)


@pytest.fixture
def forced_pool(monkeypatch):
    """Use the process pool even for a few items, with small chunks and a short queue."""
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    monkeypatch.setattr(parallel, "IN_FLIGHT_PER_WORKER", 1)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)


def map_all(fn, items: list[int]) -> list[int]:
    return list(map_stream(fn, items, len(items)))


def test_small_inputs_run_in_this_process():
    assert set(map_all(worker_pid, list(range(5)))) == {os.getpid()}


def test_pool_keeps_input_order(forced_pool):
    assert map_all(square, list(range(20))) == [i * i for i in range(20)]
    assert os.getpid() not in set(map_all(worker_pid, list(range(6))))


def test_stream_is_read_lazily_a_few_chunks_ahead(forced_pool):
    read = []

    def items():
        for i in range(30):
            read.append(i)
            yield i

    results = map_stream(square, items(), count=30)
    assert next(results) == 0
    # 2 workers x 1 chunk in flight x 3 items, plus the chunk being submitted: far from all 30.
    assert len(read) <= 9
    assert list(results) == [i * i for i in range(1, 30)]


@pytest.mark.parametrize("use_pool", [True, False])
def test_after_start_runs_once(monkeypatch, forced_pool, use_pool):
    if not use_pool:
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 10**9)
    calls = []
    assert list(map_stream(square, range(7), 7, after_start=lambda: calls.append(1))) == [
        i * i for i in range(7)
    ]
    assert calls == [1]


def test_worker_niceness_lowers_only_the_workers_priority(forced_pool):
    own = os.nice(0)
    niceness = list(map_chunks(worker_niceness, range(6), 6, worker_niceness=5))
    assert niceness == [min(own + 5, 19)] * 2
    assert os.nice(0) == own
