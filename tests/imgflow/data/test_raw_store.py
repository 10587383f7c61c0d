"""imgflow/data/raw_store.py: download's one-table image store."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from imgflow.common.errors import StageError
from imgflow.data import raw_store
from imgflow.data.raw_store import IMAGES_TABLE, iter_contents, read_paths, write_images


def test_round_trip_keeps_bytes_and_storage_order(tmp_path):
    rows = [("b/2.png", b"\x89PNG two"), ("a/1.jpg", b"\xff\xd8 one"), ("a/empty.png", b"")]
    assert write_images(iter(rows), tmp_path / IMAGES_TABLE) == 3
    assert read_paths(tmp_path) == ["b/2.png", "a/1.jpg", "a/empty.png"]
    assert list(iter_contents(tmp_path)) == rows


def test_rows_are_written_and_read_in_bounded_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_store, "ROWS_PER_GROUP", 4)
    monkeypatch.setattr(raw_store, "READ_BATCH", 3)
    rows = [(f"c/{i}.png", bytes([i])) for i in range(10)]
    write_images(rows, tmp_path / IMAGES_TABLE)
    assert pq.ParquetFile(tmp_path / IMAGES_TABLE).num_row_groups == 3  # 4 + 4 + 2
    assert list(iter_contents(tmp_path)) == rows


def test_an_empty_store_is_a_valid_table(tmp_path):
    assert write_images([], tmp_path / IMAGES_TABLE) == 0
    assert read_paths(tmp_path) == []
    assert list(iter_contents(tmp_path)) == []


def test_missing_store_names_the_file_and_the_stage_to_run(tmp_path):
    with pytest.raises(StageError, match=f"{IMAGES_TABLE}: not found; run the download stage"):
        read_paths(tmp_path)
