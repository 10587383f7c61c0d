"""imgflow/validation/scan.py: junk left out of the manifest, and each file inspected and
quarantined with its reason."""

from __future__ import annotations

import hashlib

from imgflow.common import parallel
from imgflow.validation.run import run
from imgflow.validation.scan import MANIFEST_COLUMNS, build_manifest, inspect_bytes
from tests.imgflow.validation.helpers import (
    CORRUPT,
    JUNK,
    LIMIT,
    ODD_BUT_FINE,
    by_path,
    distinct_png,
    params,
)


def test_junk_is_never_a_class_or_an_image_but_is_listed(bad_raw):
    manifest = build_manifest(bad_raw, LIMIT)
    assert not set(manifest["path"]) & set(JUNK)
    assert "desktop.ini" not in manifest["label"].tolist()
    report = run(bad_raw, params(on_label_conflict="drop", on_leak="drop")).report
    assert report["ignored_files"] == sorted(JUNK)


def test_inspect_bytes_hashes_and_describes():
    data = distinct_png(1)
    facts, pixels = inspect_bytes(data)
    assert pixels is not None and pixels.shape == (6, 8, 3)
    assert (facts.format, facts.width, facts.height, facts.mode) == ("PNG", 8, 6, "RGB")
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.bytes == len(data) and facts.reason == ""


def test_manifest_records_every_bad_file_with_its_reason(bad_raw):
    manifest = by_path(build_manifest(bad_raw, LIMIT))
    assert list(manifest.reset_index().columns) == MANIFEST_COLUMNS
    for relpath, reason in CORRUPT.items():
        assert manifest.loc[relpath, "status"] == "quarantined", relpath
        assert manifest.loc[relpath, "reason"] == reason, relpath
    for relpath, mode in ODD_BUT_FINE.items():
        assert manifest.loc[relpath, "status"] == "ok", relpath
        assert manifest.loc[relpath, "mode"] == mode, relpath
    assert manifest.loc["train/dog/png_named.jpg", "format"] == "PNG"
    assert manifest.loc["train/cat/cmyk.jpg", "format"] == "JPEG"
    rotated = manifest.loc["train/dog/rotated.jpg"]
    assert (rotated["width"], rotated["height"]) == (2, 6)  # EXIF orientation applied
    assert manifest.loc["train/cat/bomb.png", "error"].startswith("50x50")


def test_pixel_limit_holds_in_process_pool_workers(bad_raw, monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)  # force the process pool
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    manifest = by_path(build_manifest(bad_raw, LIMIT))
    assert manifest.loc["train/cat/bomb.png", "reason"] == "too_large"
    assert manifest.loc["train/cat/cut.jpg", "reason"] == "truncated"


def test_jpeg_cut_short_with_an_end_marker_is_quarantined_with_libjpegs_message(bad_raw):
    row = by_path(build_manifest(bad_raw, LIMIT)).loc["train/dog/cut_marked.jpg"]
    assert (row["status"], row["reason"]) == ("quarantined", "truncated")
    assert row["error"] == "Corrupt JPEG data: premature end of data segment"
