"""imgflow/sources/ingest.py: fetch writes data/raw atomically, keeping the previous one on a
crash."""

from __future__ import annotations

import pytest

import imgflow.sources.fetching as fetching
from imgflow.params.data import DataParams
from imgflow.sources.ingest import fetch
from tests.imgflow.sources.helpers import write_tree


def test_fetch_crash_leaves_previous_raw_intact(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    source = tmp_path / "src"
    write_tree(source, ["cat/1.png", "cat/2.png", "dog/3.png", "dog/4.png"])
    fetch(DataParams(source=str(source)), raw)
    before = {f.name: f.read_bytes() for f in raw.iterdir()}
    real_read_bytes = fetching.FolderTree.read_bytes
    reads = []

    def crash_on_third_read(tree, name):
        reads.append(name)
        if len(reads) == 3:
            raise OSError("disk full")
        return real_read_bytes(tree, name)

    monkeypatch.setattr(fetching.FolderTree, "read_bytes", crash_on_third_read)
    write_tree(source, ["cat/1.png", "cat/2.png", "dog/3.png", "dog/4.png", "emu/5.png"])
    with pytest.raises(OSError, match="disk full"):
        fetch(DataParams(source=str(source)), raw)

    assert len(reads) == 3
    assert {f.name: f.read_bytes() for f in raw.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "src"]
