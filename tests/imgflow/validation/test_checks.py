"""imgflow/validation/checks.py: each check and its policy, on a folder of every bad input and on
a clean one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from imgflow.common.artifacts import read_json, write_json
from imgflow.data.raw_store import IMAGES_TABLE, iter_contents, write_images
from imgflow.data.resizing import valid_rows
from imgflow.validation.checks import failure_message, validate
from imgflow.validation.run import run
from imgflow.validation.scan import build_manifest
from tests.imgflow.validation.helpers import (
    CONFLICT,
    CORRUPT,
    LEAK,
    LIMIT,
    by_path,
    distinct_png,
    params,
)


def edit_stored(raw: Path, relpath: str, data: bytes | None) -> None:
    """Change (or, with None, remove) one stored file after download, keeping dataset.json."""
    files = dict(iter_contents(raw))
    if data is None:
        del files[relpath]
    else:
        files[relpath] = data
    write_images(files.items(), raw / IMAGES_TABLE)


def outcome(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in report["checks"] if o["check"] == name)


def blocking(report: dict[str, Any]) -> set[str]:
    return {o["check"] for o in report["checks"] if o["blocking"]}


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- policies --------------------------------------------------------------------------------


def test_drop_policies_quarantine_each_bad_file_and_carry_on(bad_raw):
    raw_before = tree_digest(bad_raw)
    result = run(bad_raw, params(on_label_conflict="drop", on_leak="drop"))
    report, manifest = result.report, by_path(result.manifest)
    assert report["success"] is True, failure_message(report)

    expected = CORRUPT | {
        CONFLICT[0]: "label_conflict",
        CONFLICT[1]: "label_conflict",
        LEAK[1]: "leak",
    }
    listed = {q["path"]: q["reason"] for q in report["quarantine"]}
    assert listed == expected
    quarantined = manifest[manifest["status"] == "quarantined"]
    assert quarantined["reason"].to_dict() == expected
    assert manifest.loc[LEAK[0], "status"] == "ok"  # the train-side copy is kept
    assert report["quarantined"] == len(expected)
    # Quarantine is not a count failure: every declared file was found.
    assert outcome(report, "count_matches_declared")["success"] is True
    assert outcome(report, "readable")["blocking"] is False
    assert outcome(report, "no_label_conflicts")["success"] is False  # reported, not blocking
    # Later stages see only the usable rows.
    assert set(valid_rows(result.manifest)["path"]) == set(manifest.index) - set(expected)
    assert tree_digest(bad_raw) == raw_before  # data/raw is never touched


def test_label_conflict_stops_the_pipeline_by_default(bad_raw):
    report = run(bad_raw, params(on_leak="drop")).report
    assert blocking(report) == {"no_label_conflicts"}
    message = failure_message(report)
    assert f"{CONFLICT[0]}: same content" in message
    assert f"{CONFLICT[1]}: same content" in message


def test_leak_stops_the_pipeline_by_default(bad_raw):
    report = run(bad_raw, params(on_label_conflict="drop")).report
    assert blocking(report) == {"no_leaks"}
    message = failure_message(report)
    assert f"{LEAK[0]}: same content" in message and f"{LEAK[1]}: same content" in message


def test_on_corrupt_fail_stops_naming_each_file(bad_raw):
    report = run(bad_raw, params(on_corrupt="fail", on_label_conflict="drop", on_leak="drop"))
    report = report.report
    assert blocking(report) == {"readable"}
    message = failure_message(report)
    for relpath in CORRUPT:
        assert f"unreadable file {relpath} in class" in message
    assert "truncated" in message and "too_large" in message


def test_duplicates_within_one_class_are_fine(clean_raw):
    edit_stored(clean_raw, "cat/2.png", distinct_png(0))  # cat/1.png's bytes
    assert run(clean_raw, params()).report["success"] is True


# --- counts ----------------------------------------------------------------------------------


def test_clean_data_passes_every_check(clean_raw):
    report = run(clean_raw, params()).report
    assert report["success"] is True, failure_message(report)
    assert all(o["success"] for o in report["checks"])
    assert report["images"] == report["readable"] == report["usable"] == 6
    assert report["quarantine"] == []


def test_count_mismatch_stops_naming_class_and_counts(clean_raw):
    dataset = read_json(clean_raw / "dataset.json")
    dataset["declared_counts"]["all"]["dog"] = 5
    write_json(dataset, clean_raw / "dataset.json")
    report = run(clean_raw, params()).report
    assert blocking(report) == {"count_matches_declared"}
    message = failure_message(report)
    assert "class 'dog' (split all): 2 files found, the dataset declares 5" in message
    assert "'cat'" not in message


def test_corrupt_file_is_quarantined_and_not_a_count_failure(clean_raw):
    edit_stored(clean_raw, "emu/5.png", b"\x89PNG broken")
    report = run(clean_raw, params()).report
    assert report["success"] is True
    counts = {(c["split"], c["label"]): c for c in report["class_counts"]}
    assert counts[("all", "emu")] | {} == {
        "split": "all",
        "label": "emu",
        "declared": 2,
        "found": 2,
        "readable": 1,
        "quarantined": 1,
        "usable": 1,
    }


def test_label_outside_class_list_stops(clean_raw):
    dataset = read_json(clean_raw / "dataset.json")
    dataset["classes"] = ["cat", "dog"]
    write_json(dataset, clean_raw / "dataset.json")
    report = run(clean_raw, params()).report
    assert "label_in_classes" in blocking(report)
    message = failure_message(report)
    assert "emu/5.png: label 'emu' is not a known class" in message
    assert "cat/1.png" not in message


def test_empty_class_stops_naming_it(clean_raw):
    for name in ("5.png", "6.png"):
        edit_stored(clean_raw, f"emu/{name}", b"")
    report = run(clean_raw, params()).report
    assert blocking(report) == {"no_empty_classes", "min_per_class"}
    message = failure_message(report)
    assert "class 'emu' is declared but has no usable images" in message
    assert "class 'emu' (split all): 0 usable images" in message


def test_class_below_min_per_class_stops(clean_raw):
    edit_stored(clean_raw, "dog/4.png", None)
    dataset = read_json(clean_raw / "dataset.json")
    dataset["declared_counts"]["all"]["dog"] = 1
    write_json(dataset, clean_raw / "dataset.json")
    report = run(clean_raw, params(min_per_class=2)).report
    assert blocking(report) == {"min_per_class"}
    message = failure_message(report)
    assert "class 'dog' (split all): 1 usable images, below validate.min_per_class=2" in message


def test_failure_message_lists_only_blocking_checks_and_limits_the_list():
    report = {
        "checks": [
            {"check": "readable", "success": False, "blocking": True, "failures": list("x" * 25)},
            {"check": "no_leaks", "success": False, "blocking": False, "failures": ["leak!"]},
        ]
    }
    message = failure_message(report, limit=20)
    assert message.startswith("validation failed (readable):")
    assert "leak!" not in message
    assert "... and 5 more" in message


# --- validate ------------------------------------------------------------------------------


def test_validate_takes_a_manifest_directly(bad_raw):
    manifest = build_manifest(bad_raw, LIMIT)
    final, report = validate(manifest, read_json(bad_raw / "dataset.json"), params(on_leak="drop"))
    assert by_path(final).loc[LEAK[1], "reason"] == "leak"
    assert report["usable"] == int((final["status"] == "ok").sum())
