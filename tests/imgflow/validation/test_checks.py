"""imgflow/validation/checks.py: each check and its policy, on a folder of every bad input and on
a clean one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from imgflow.common.artifacts import read_json, write_json
from imgflow.data.raw_store import IMAGES_TABLE, iter_contents, write_images
from imgflow.data.resizing import valid_rows
from imgflow.params.validate import ValidateParams
from imgflow.validation.checks import LIST_LIMIT, failure_message, validate
from imgflow.validation.run import run
from imgflow.validation.scan import MANIFEST_COLUMNS, build_manifest
from tests.imgflow.validation.helpers import (
    CLEAN,
    CONFLICT,
    CORRUPT,
    LEAK,
    LIMIT,
    by_path,
    distinct_png,
    make_raw,
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


def remove_stored(raw: Path, *relpaths: str) -> None:
    """Remove stored files and their declared counts, as if the source never held them."""
    for relpath in relpaths:
        edit_stored(raw, relpath, None)
    dataset = read_json(raw / "dataset.json")
    for relpath in relpaths:
        dataset["declared_counts"]["all"][relpath.split("/")[0]] -= 1
    write_json(dataset, raw / "dataset.json")


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
    edit_stored(clean_raw, CLEAN[1], distinct_png(0))  # CLEAN[0]'s bytes, in the same class
    assert run(clean_raw, params()).report["success"] is True


# --- counts ----------------------------------------------------------------------------------


def test_clean_data_passes_every_check(clean_raw):
    report = run(clean_raw, params()).report
    assert report["success"] is True, failure_message(report)
    assert all(o["success"] for o in report["checks"])
    assert report["images"] == report["readable"] == report["usable"] == len(CLEAN)
    assert report["quarantine"] == [] and report["quarantine_more"] == 0


def test_count_mismatch_stops_naming_class_and_counts(clean_raw):
    dataset = read_json(clean_raw / "dataset.json")
    dataset["declared_counts"]["all"]["dog"] = 5
    write_json(dataset, clean_raw / "dataset.json")
    report = run(clean_raw, params()).report
    assert blocking(report) == {"count_matches_declared"}
    message = failure_message(report)
    assert "class 'dog' (split all): 4 files found, the dataset declares 5" in message
    assert "'cat'" not in message


def test_corrupt_file_is_quarantined_and_not_a_count_failure(clean_raw):
    edit_stored(clean_raw, "emu/emu0.png", b"\x89PNG broken")
    report = run(clean_raw, params()).report
    assert report["success"] is True
    counts = {(c["split"], c["label"]): c for c in report["class_counts"]}
    assert counts[("all", "emu")] | {} == {
        "split": "all",
        "label": "emu",
        "declared": 4,
        "found": 4,
        "readable": 3,
        "quarantined": 1,
        "usable": 3,
    }


def test_label_outside_class_list_stops(clean_raw):
    dataset = read_json(clean_raw / "dataset.json")
    dataset["classes"] = ["cat", "dog"]
    write_json(dataset, clean_raw / "dataset.json")
    report = run(clean_raw, params()).report
    assert "label_in_classes" in blocking(report)
    message = failure_message(report)
    assert "emu/emu0.png: label 'emu' is not a known class" in message
    assert "cat/cat0.png" not in message


def test_empty_class_stops_naming_it(clean_raw):
    for relpath in CLEAN:
        if relpath.startswith("emu/"):
            edit_stored(clean_raw, relpath, b"")
    report = run(clean_raw, params()).report
    assert blocking(report) == {"no_empty_classes", "min_per_class", "enough_to_split"}
    message = failure_message(report)
    assert "class 'emu' is declared but has no usable images" in message
    assert "class 'emu' (split all): 0 usable images" in message


def test_class_below_min_per_class_stops(clean_raw):
    remove_stored(clean_raw, "dog/dog0.png")
    report = run(clean_raw, params(min_per_class=4)).report
    assert blocking(report) == {"min_per_class"}
    message = failure_message(report)
    assert "class 'dog' (split all): 3 usable images, below validate.min_per_class=4" in message
    assert "'cat'" not in message


# --- enough for split ------------------------------------------------------------------------


def test_class_too_small_for_split_stops_with_the_default_params(clean_raw):
    remove_stored(clean_raw, "dog/dog0.png", "dog/dog1.png")
    report = run(clean_raw, ValidateParams()).report
    assert blocking(report) == {"enough_to_split"}
    message = failure_message(report)
    assert (
        "class 'dog': 2 distinct usable images to divide, but split needs at least 3 "
        "(one for each of train, val, test)"
    ) in message
    assert "'cat'" not in message


def test_copies_count_once_toward_what_split_needs(clean_raw):
    remove_stored(clean_raw, "dog/dog0.png")
    edit_stored(clean_raw, "dog/dog2.png", distinct_png(CLEAN.index("dog/dog1.png")))
    report = run(clean_raw, params()).report
    assert blocking(report) == {"enough_to_split"}
    assert "class 'dog': 2 distinct usable images" in failure_message(report)


def test_quarantined_files_do_not_count_toward_what_split_needs(clean_raw):
    remove_stored(clean_raw, "dog/dog0.png")
    edit_stored(clean_raw, "dog/dog1.png", b"not an image")
    report = run(clean_raw, params()).report
    assert blocking(report) == {"enough_to_split"}
    assert "class 'dog': 2 distinct usable images" in failure_message(report)


def test_a_sources_own_test_split_lowers_what_split_needs(tmp_path):
    files = ["train/cat/1.png", "train/cat/2.png", "train/dog/3.png", "test/dog/4.png"]
    files += ["test/cat/5.png", "test/dog/6.png", "test/dog/7.png"]
    raw = make_raw(tmp_path, {p: distinct_png(i) for i, p in enumerate(files)})
    report = run(raw, params()).report
    assert blocking(report) == {"enough_to_split"}
    message = failure_message(report)
    # Own test images stay where they are: dog's 3 leave 1 image to divide, cat's 2 suffice.
    assert "class 'dog': 1 distinct usable images to divide, but split needs at least 2" in message
    assert "(one for each of train, val)" in message and "'cat'" not in message


# --- report size ----------------------------------------------------------------------------


def many_quarantined(count: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A manifest of `count` undecodable files beside 4 good ones, and its dataset.json."""
    good = [(f"cat/good{i}.png", "PNG", 8, 6, "RGB", f"{i:064x}", "ok", "", "") for i in range(4)]
    bad = [
        (f"cat/bad{i:04}.jpg", "", 0, 0, "", f"{i + 99:064x}", "quarantined", "not_an_image", "x")
        for i in range(count)
    ]
    rows = [
        {"path": p, "label": "cat", "split": None, "format": f, "width": w, "height": h,
         "mode": m, "bytes": 10, "sha256": sha, "status": st, "reason": r, "error": e}
        for p, f, w, h, m, sha, st, r, e in good + bad
    ]  # fmt: skip
    dataset = {
        "name": "many",
        "classes": ["cat"],
        "declared_counts": {"all": {"cat": count + 4}},
    }
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS), dataset


def test_report_lists_the_first_quarantined_files_and_counts_the_rest():
    manifest, dataset = many_quarantined(500)
    _, report = validate(manifest, dataset, params())
    assert report["quarantined"] == 500
    assert len(report["quarantine"]) == LIST_LIMIT == 100
    assert report["quarantine"][0]["path"] == "cat/bad0000.jpg"
    assert report["quarantine_more"] == 400


def test_each_checks_failures_are_listed_up_to_the_limit_and_counted():
    manifest, dataset = many_quarantined(500)
    _, report = validate(manifest, dataset, params())
    readable = outcome(report, "readable")
    assert len(readable["failures"]) == len(readable["failed_rows"]) == LIST_LIMIT
    assert readable["failures_more"] == 400
    assert outcome(report, "no_leaks")["failures_more"] == 0


def test_failure_message_counts_failures_beyond_the_reports_lists():
    manifest, dataset = many_quarantined(500)
    _, report = validate(manifest, dataset, params(on_corrupt="fail"))
    assert failure_message(report, limit=20).endswith("... and 480 more")


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
