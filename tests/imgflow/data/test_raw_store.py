"""imgflow/data/raw_store.py: download's one-table image store."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from imgflow.common.errors import StageError
from imgflow.data import raw_store
from imgflow.data.raw_store import (
    IMAGES_TABLE,
    is_utf8,
    iter_contents,
    read_paths,
    shown,
    write_images,
)
from imgflow.params.data import MAX_FILE_BYTES_LIMIT


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


def test_row_groups_are_bounded_in_bytes_a_large_file_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_store, "GROUP_BYTES", 10)
    rows = [
        ("c/a", b"1234"),
        ("c/b", b"5678"),
        ("c/c", b"9abc"),
        ("c/big", bytes(20)),
        ("c/d", b"x"),
    ]
    write_images(rows, tmp_path / IMAGES_TABLE)
    groups = pq.ParquetFile(tmp_path / IMAGES_TABLE)
    sizes = [groups.metadata.row_group(i).num_rows for i in range(groups.num_row_groups)]
    assert sizes == [2, 1, 1, 1]  # 8 bytes, then each row that would pass 10 starts a group
    assert list(iter_contents(tmp_path)) == rows


def test_a_file_over_one_parquet_value_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_store, "MAX_VALUE_BYTES", 8)
    with pytest.raises(StageError, match=r"^cat/big.png: 9 bytes, more than the image table"):
        write_images([("cat/1.png", b"ok"), ("cat/big.png", bytes(9))], tmp_path / IMAGES_TABLE)


def test_a_path_not_in_utf8_is_refused_naming_it_escaped(tmp_path):
    with pytest.raises(StageError, match=r"^cat/b\\xff.png: file name is not valid UTF-8"):
        write_images([("cat/1.png", b"ok"), ("cat/b\udcff.png", b"x")], tmp_path / IMAGES_TABLE)


def test_reading_back_takes_one_row_group_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_store, "ROWS_PER_GROUP", 2)
    write_images([(f"c/{i}.png", bytes([i])) for i in range(5)], tmp_path / IMAGES_TABLE)
    batches = []
    real_iter_batches = pq.ParquetFile.iter_batches

    def recording(self, *args, **kwargs):
        for batch in real_iter_batches(self, *args, **kwargs):
            batches.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", recording)
    assert len(list(iter_contents(tmp_path))) == 5
    assert batches == [2, 2, 1]  # READ_BATCH rows would span all three groups


def test_data_max_file_bytes_is_capped_to_one_value():
    assert MAX_FILE_BYTES_LIMIT == raw_store.MAX_VALUE_BYTES


def test_shown_escapes_bytes_that_are_not_utf8_and_keeps_the_rest():
    assert shown("café/b\udcff.png") == "café/b\\xff.png"


def test_is_utf8_false_only_for_names_holding_such_bytes():
    assert is_utf8("café/1.png") and not is_utf8("b\udcff.png")
