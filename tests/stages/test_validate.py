"""stages/validate.py: the manifest, each check and its policy, on a folder of every bad input."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stages import parallel
from stages import validate as validate_module
from stages.artifacts import read_json, write_json
from stages.download import fetch
from stages.errors import StageError
from stages.params import DataParams, ParamsError, ValidateParams, parse_params
from stages.raw_store import IMAGES_TABLE, iter_contents, write_images
from stages.resize import valid_rows
from stages.validate import (
    MANIFEST_COLUMNS,
    ValidationFailed,
    build_manifest,
    failure_message,
    inspect_bytes,
    main,
    run,
    validate,
)
from stages.warm_process import WarmProcess

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
LIMIT = 2000  # validate.max_image_pixels in these tests: the "bomb" is 50 x 50
GOOD = [
    "train/cat/1.png",
    "train/cat/2.png",
    "train/cat/3.png",
    "train/dog/4.png",
    "train/dog/5.png",
    "train/dog/6.png",
    "test/cat/7.png",
    "test/cat/8.png",
    "test/dog/9.png",
    "test/dog/10.png",
]
JUNK = [
    "desktop.ini",
    ".ipynb_checkpoints/x.png",
    "train/cat/.DS_Store",
    "train/cat/._foo.jpg",
    "train/cat/.ipynb_checkpoints/x.png",
    "train/dog/Thumbs.db",
]
CORRUPT = {  # file -> the reason it is quarantined with
    "train/cat/empty.jpg": "empty_file",
    "train/cat/cut.jpg": "truncated",
    "train/dog/notes.jpg": "not_an_image",
    "train/cat/bomb.png": "too_large",
}
ODD_BUT_FINE = {  # file -> mode stored in it; each decodes, so each stays "ok"
    "train/dog/png_named.jpg": "RGB",
    "train/cat/cmyk.jpg": "CMYK",
    "train/dog/gray.png": "L",
    "train/cat/palette.png": "P",
    "train/dog/rgba.png": "RGBA",
    "train/cat/deep.png": "I;16",
    "train/dog/rotated.jpg": "RGB",
}
CONFLICT = ("train/cat/1.png", "train/dog/dup.png")  # same bytes under two classes
LEAK = ("train/dog/5.png", "test/dog/leak.png")  # same bytes in train and test


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def distinct_png(value: int) -> bytes:
    pixels = np.random.default_rng(value).integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "PNG")


def odd_files() -> dict[str, bytes]:
    cut = encode(Image.effect_noise((40, 40), 80).convert("RGB"), "JPEG", quality=95)
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((1, 1), 1)
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "train/cat/empty.jpg": b"",
        "train/cat/cut.jpg": cut[: len(cut) // 2],
        "train/dog/notes.jpg": b"not an image",
        "train/cat/bomb.png": encode(Image.new("L", (50, 50), 1), "PNG"),
        "train/dog/png_named.jpg": encode(Image.new("RGB", (5, 4), (1, 2, 3)), "PNG"),
        "train/cat/cmyk.jpg": encode(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG"),
        "train/dog/gray.png": encode(Image.new("L", (4, 4), 90), "PNG"),
        "train/cat/palette.png": encode(palette, "PNG", transparency=0),
        "train/dog/rgba.png": encode(Image.new("RGBA", (4, 4), (9, 9, 9, 0)), "PNG"),
        "train/cat/deep.png": encode(Image.fromarray(np.full((3, 3), 4000, np.uint16)), "PNG"),
        "train/dog/rotated.jpg": encode(Image.new("RGB", (6, 2), 200), "JPEG", exif=exif.tobytes()),
    }


def make_raw(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """data/raw as download writes it from a folder holding `files`."""
    source = tmp_path / "source"
    for relpath, data in files.items():
        path = source / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    raw = tmp_path / "raw"
    fetch(DataParams(source=str(source)), raw)
    return raw


def edit_stored(raw: Path, relpath: str, data: bytes | None) -> None:
    """Change (or, with None, remove) one stored file after download, keeping dataset.json."""
    files = dict(iter_contents(raw))
    if data is None:
        del files[relpath]
    else:
        files[relpath] = data
    write_images(files.items(), raw / IMAGES_TABLE)


@pytest.fixture
def bad_raw(tmp_path) -> Path:
    """Every bad input at once, beside clean images and junk."""
    files = {p: distinct_png(i) for i, p in enumerate(GOOD)} | odd_files()
    files[CONFLICT[1]] = files[CONFLICT[0]]
    files[LEAK[1]] = files[LEAK[0]]
    return make_raw(tmp_path, files | {p: b"junk" for p in JUNK})


@pytest.fixture
def clean_raw(tmp_path) -> Path:
    relpaths = ["cat/1.png", "cat/2.png", "dog/3.png", "dog/4.png", "emu/5.png", "emu/6.png"]
    return make_raw(tmp_path, {p: distinct_png(i) for i, p in enumerate(relpaths)})


def params(**overrides) -> ValidateParams:
    return ValidateParams(**({"max_image_pixels": LIMIT} | overrides))


def outcome(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in report["checks"] if o["check"] == name)


def blocking(report: dict[str, Any]) -> set[str]:
    return {o["check"] for o in report["checks"] if o["blocking"]}


def by_path(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest.set_index("path")


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- listing and per-file inspection ---------------------------------------------------------


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


def test_large_dataset_checks_run_in_the_gx_process_with_the_same_report(bad_raw, monkeypatch):
    chosen = params(on_label_conflict="drop", on_leak="drop")
    here = run(bad_raw, chosen)
    monkeypatch.setattr(validate_module, "PARALLEL_FROM", 1)  # "large": checks in the child
    calls = []
    monkeypatch.setattr(validate_module.WarmProcess, "call", record(calls, WarmProcess.call))
    there = run(bad_raw, chosen)
    assert [fn.__name__ for fn in calls] == ["check_tables"]
    assert there.report == here.report
    assert there.manifest.equals(here.manifest)


def record(calls: list, call):
    def recording(self, fn, *args):
        calls.append(fn)
        return call(self, fn, *args)

    return recording


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


# --- params ----------------------------------------------------------------------------------


def test_validate_params_defaults_and_params_yaml():
    defaults = ValidateParams()
    assert (defaults.on_corrupt, defaults.on_label_conflict, defaults.on_leak) == (
        "quarantine",
        "fail",
        "fail",
    )
    assert defaults.max_image_pixels == Image.MAX_IMAGE_PIXELS == 89_478_485
    assert main.__module__ == "stages.validate"  # params.yaml itself is checked by main below


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on_corrupt", "skip"),
        ("on_leak", "keep"),
        ("max_image_pixels", 0),
        ("max_image_pixels", True),
    ],
)
def test_validate_params_reject_bad_values(key, value):
    raw = {"data": {"source": "digits"}, "validate": {key: value}}
    raw |= {s: {} for s in ("resize", "split", "train", "evaluate", "plot")}
    with pytest.raises(ParamsError, match=f"validate.{key}"):
        parse_params(raw)


# --- main --------------------------------------------------------------------------------------


def outputs(tmp_path: Path) -> dict[str, Path]:
    reports = tmp_path / "reports"
    return {
        "manifest": tmp_path / "interim" / "manifest.parquet",
        "report": reports / "validation.json",
        "stats": reports / "data_stats.json",
        "html": reports / "validation" / "index.html",
        "png": reports / "validation" / "image_sizes.png",
        "csv": reports / "validation" / "image_sizes.csv",
    }


def run_main(raw: Path, paths: dict[str, Path]) -> None:
    main([str(raw), str(paths["manifest"]), str(paths["report"]), "--params", str(PARAMS_YAML)])


def test_main_writes_every_output(clean_raw, tmp_path):
    paths = outputs(tmp_path)
    run_main(clean_raw, paths)
    assert all(p.exists() for p in paths.values()), paths
    assert read_json(paths["report"])["success"] is True
    assert read_json(paths["stats"])["images"] == 6
    assert len(pd.read_parquet(paths["manifest"])) == 6
    assert paths["png"].read_bytes().startswith(b"\x89PNG")


def test_main_stops_naming_the_file_and_still_writes_outputs(bad_raw, tmp_path):
    paths = outputs(tmp_path)
    with pytest.raises(ValidationFailed) as info:  # params.yaml: conflicts and leaks fail
        run_main(bad_raw, paths)
    assert isinstance(info.value, StageError)
    assert CONFLICT[1] in str(info.value) and str(paths["report"]) in str(info.value)
    manifest = pd.read_parquet(paths["manifest"])
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert read_json(paths["report"])["success"] is False
    assert paths["html"].exists()


def test_validate_takes_a_manifest_directly(bad_raw):
    manifest = build_manifest(bad_raw, LIMIT)
    final, report = validate(manifest, read_json(bad_raw / "dataset.json"), params(on_leak="drop"))
    assert by_path(final).loc[LEAK[1], "reason"] == "leak"
    assert report["usable"] == int((final["status"] == "ok").sum())
