"""imgflow/common/artifacts.py: atomic file and folder writers and the small read/write helpers."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imgflow.common.artifacts import (
    atomic_dir,
    atomic_file,
    atomic_npy,
    read_json,
    sweep_stale_temps,
    write_json,
    write_npy,
    write_parquet,
    write_text,
)


class Boom(Exception):
    pass


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- atomic_file ---------------------------------------------------------------------------


def test_atomic_file_success_replaces_target(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_file(target) as tmp:
        assert tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible until the block ends
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_file_creates_missing_parent(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic_file(target) as tmp:
        tmp.write_text("x")
    assert target.read_text() == "x"


def test_atomic_file_exception_keeps_previous_content_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(Boom), atomic_file(target) as tmp:
        tmp.write_text("half-writ")
        raise Boom
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_file_exception_without_previous_creates_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(Boom), atomic_file(target) as tmp:
        tmp.write_text("x")
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_temp_keeps_target_suffix_last(tmp_path):
    with atomic_file(tmp_path / "model.keras") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".keras"
        tmp.write_bytes(b"x")


def test_atomic_file_mode_follows_umask(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"x")
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode != 0o600
    assert mode == 0o666 & ~current_umask()
    if current_umask() == 0o022:
        assert mode == 0o644


# --- atomic_dir ----------------------------------------------------------------------------


def test_atomic_dir_success_replaces_old_content(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_dir(target) as tmp:
        assert tmp != target
        assert list(tmp.iterdir()) == []
        (tmp / "fresh.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["fresh.txt"]
    assert (target / "fresh.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_success_without_previous_folder(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("a")
    assert (target / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_exception_keeps_previous_folder_and_no_temp(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(Boom), atomic_dir(target) as tmp:
        (tmp / "partial.txt").write_text("half")
        raise Boom
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_mode_follows_umask(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target):
        pass
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == 0o777 & ~current_umask()


# --- helpers -------------------------------------------------------------------------------


def test_write_json_read_json_round_trip(tmp_path):
    data = {"name": "digits", "classes": ["0", "1"], "counts": {"all": {"0": 3}}, "ok": True}
    target = tmp_path / "sub" / "data.json"
    write_json(data, target)
    assert read_json(target) == data
    assert target.read_text().endswith("\n")


def test_write_text_writes_exact_text(tmp_path):
    target = tmp_path / "report.txt"
    write_text("line 1\nline 2", target)
    assert target.read_text() == "line 1\nline 2"


def test_write_npy_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4, 1)
    target = tmp_path / "images.npy"
    write_npy(array, target)
    loaded = np.load(target)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, array)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.npy"]


def test_write_npy_refuses_object_arrays_and_keeps_previous(tmp_path):
    target = tmp_path / "labels.npy"
    write_npy(np.array([1, 2, 3]), target)
    with pytest.raises(ValueError):
        write_npy(np.array([{"a": 1}], dtype=object), target)
    np.testing.assert_array_equal(np.load(target), [1, 2, 3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.npy"]


def test_atomic_npy_fills_in_place_then_replaces_target(tmp_path):
    target = tmp_path / "images.npy"
    np.save(target, np.ones(2))
    with atomic_npy(target, (2, 3), "uint8") as array:
        array[1] = [7, 8, 9]
        assert np.load(target).tolist() == [1, 1]  # the old result until the end
    assert np.load(target).tolist() == [[0, 0, 0], [7, 8, 9]]
    assert [p.name for p in tmp_path.iterdir()] == ["images.npy"]


def test_atomic_npy_exception_keeps_previous_and_no_temp(tmp_path):
    target = tmp_path / "images.npy"
    np.save(target, np.ones(2))
    with pytest.raises(RuntimeError), atomic_npy(target, (2, 3), "uint8") as array:
        array[:] = 5
        raise RuntimeError("crash mid-write")
    assert np.load(target).tolist() == [1, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["images.npy"]


def test_write_parquet_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "path": ["a/1.png", "b/2.png"],
            "label": ["a", "b"],
            "split": [None, "test"],
            "width": [8, 16],
        }
    )
    target = tmp_path / "table.parquet"
    write_parquet(table, target)
    pd.testing.assert_frame_equal(pd.read_parquet(target), table)


def test_write_json_turns_numpy_values_and_nan_into_plain_json(tmp_path):
    target = tmp_path / "report.json"
    write_json({"count": np.int64(3), 7: [np.float32(0.5), float("nan")]}, target)
    assert read_json(target) == {"count": 3, "7": [0.5, None]}


def test_sweep_removes_only_the_temps_a_killed_writer_left(tmp_path):
    target = tmp_path / "images.npy"
    target.write_bytes(b"kept")
    (tmp_path / ".images.npy.k3j2.tmp.npy").write_bytes(b"half")
    (tmp_path / ".raw.x1.tmp").mkdir()
    (tmp_path / ".raw.x1.tmp" / "images.parquet").write_bytes(b"half")
    (tmp_path / ".raw.old").mkdir()
    (tmp_path / ".other.npy.k3.tmp.npy").write_bytes(b"not ours")
    removed = sweep_stale_temps(target, tmp_path / "raw")
    assert sorted(p.name for p in removed) == [
        ".images.npy.k3j2.tmp.npy",
        ".raw.old",
        ".raw.x1.tmp",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npy.k3.tmp.npy", "images.npy"]


def test_a_full_disk_names_the_output_not_its_temp_file(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # write() names no file

    with pytest.raises(OSError) as failed, atomic_file(tmp_path / "metrics.json") as tmp:
        monkeypatch.setattr(Path, "write_text", no_space)
        tmp.write_text("{}")
    assert failed.value.filename == str(tmp_path / "metrics.json")
    assert failed.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
