"""stages/validate.py: per-file inspection, the manifest, and each Great Expectations check."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

from stages.artifacts import read_json, write_json
from stages.download import DatasetInfo, parse_layout
from stages.errors import StageError
from stages.params import ValidateParams
from stages.validate import (
    MANIFEST_COLUMNS,
    ValidationFailed,
    build_manifest,
    failure_message,
    inspect_image,
    main,
    validate,
)

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"

# Three classes, two images each, every image with distinct content.
CLEAN = ["cat/1.png", "cat/2.png", "dog/3.png", "dog/4.png", "emu/5.png", "emu/6.png"]


def write_png(path: Path, value: int, size: tuple[int, int] = (7, 5), mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value % 256 if mode == "L" else (value % 256, (value * 13) % 256, 9)
    Image.new(mode, size, color).save(path, format="PNG")


def jpeg_bytes() -> bytes:
    # Noise-like content so the JPEG has enough scan data that halving it truncates the image.
    image = Image.effect_noise((64, 64), 80).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_raw(raw: Path, relpaths: list[str] = CLEAN) -> dict[str, Any]:
    """Write distinct PNGs and a dataset.json whose declared counts match them."""
    for i, relpath in enumerate(relpaths):
        write_png(raw / "images" / relpath, value=10 * i + 1)
    info = DatasetInfo.from_entries("tiny", str(raw), parse_layout(relpaths))
    dataset = {
        "name": info.name,
        "source": info.source,
        "classes": info.classes,
        "splits": info.splits,
        "declared_counts": info.declared_counts,
    }
    write_json(dataset, raw / "dataset.json")
    return dataset


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in report["checks"] if o["check"] == name)


def failed_checks(report: dict[str, Any]) -> set[str]:
    return {o["check"] for o in report["checks"] if not o["success"]}


@pytest.fixture
def raw(tmp_path) -> Path:
    path = tmp_path / "raw"
    make_raw(path)
    return path


def run_validate(raw: Path, dataset: dict[str, Any] | None = None, min_per_class: int = 1):
    dataset = dataset if dataset is not None else read_json(raw / "dataset.json")
    manifest = build_manifest(raw / "images")
    return validate(manifest, dataset, ValidateParams(min_per_class=min_per_class))


# --- inspect_image -------------------------------------------------------------------------


def test_inspect_image_good_png(tmp_path):
    path = tmp_path / "a.png"
    write_png(path, value=3, size=(7, 5), mode="L")
    row = inspect_image(path)
    assert row["status"] == "ok"
    assert row["error"] == ""
    assert (row["width"], row["height"], row["mode"]) == (7, 5, "L")
    assert row["bytes"] == path.stat().st_size
    assert len(row["sha256"]) == 64


def test_inspect_image_truncated_jpeg_is_unreadable(tmp_path):
    data = jpeg_bytes()
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(data)
    assert inspect_image(whole)["status"] == "ok"

    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    row = inspect_image(cut)
    assert row["status"] == "unreadable"
    assert "truncated" in row["error"]
    assert row["bytes"] == len(data) // 2


def test_inspect_image_text_file_is_unreadable(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image at all")
    row = inspect_image(path)
    assert row["status"] == "unreadable"
    assert row["error"].startswith("UnidentifiedImageError")
    assert (row["width"], row["height"], row["mode"]) == (0, 0, "")


def test_same_content_gives_same_hash(tmp_path):
    write_png(tmp_path / "a.png", value=5)
    shutil.copyfile(tmp_path / "a.png", tmp_path / "b.png")
    write_png(tmp_path / "c.png", value=6)
    a, b, c = (inspect_image(tmp_path / n)["sha256"] for n in ("a.png", "b.png", "c.png"))
    assert a == b != c


# --- build_manifest ------------------------------------------------------------------------


def test_build_manifest_one_row_per_image_skipping_junk(raw):
    (raw / "images" / "cat" / ".DS_Store").write_bytes(b"junk")
    (raw / "images" / "dog" / "Thumbs.db").write_bytes(b"junk")
    manifest = build_manifest(raw / "images")
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert manifest["path"].tolist() == CLEAN
    assert manifest["label"].tolist() == ["cat", "cat", "dog", "dog", "emu", "emu"]
    assert manifest["split"].isna().all()
    assert (manifest["status"] == "ok").all()


def test_build_manifest_normalises_split_folders(tmp_path):
    make_raw(tmp_path / "raw", ["train/cat/1.png", "validation/cat/2.png"])
    manifest = build_manifest(tmp_path / "raw" / "images")
    assert manifest["split"].tolist() == ["train", "val"]


# --- validate ------------------------------------------------------------------------------


def test_validate_succeeds_on_clean_data(raw):
    report = run_validate(raw)
    assert report["success"] is True, failure_message(report)
    assert failed_checks(report) == set()
    assert report["images"] == report["readable"] == len(CLEAN)
    assert report["classes"] == ["cat", "dog", "emu"]
    assert all(o["failures"] == [] for o in report["checks"])


def test_validate_succeeds_on_fetched_split_folder(tmp_path):
    from stages.download import fetch
    from stages.params import DataParams

    source = tmp_path / "src"
    for i, relpath in enumerate(["train/cat/1.png", "train/dog/2.png", "valid/cat/3.png"]):
        write_png(source / relpath, value=40 * i + 2)
    fetch(DataParams(source=str(source)), tmp_path / "raw")
    report = run_validate(tmp_path / "raw")
    assert report["success"] is True, failure_message(report)


def test_validate_names_unreadable_file(raw):
    (raw / "images" / "dog" / "4.png").write_text("garbage")
    report = run_validate(raw)
    assert report["success"] is False
    assert "readable" in failed_checks(report)
    assert report["readable"] == len(CLEAN) - 1
    assert "unreadable file dog/4.png" in failure_message(report)


def test_validate_names_class_whose_count_differs_from_declared(raw):
    dataset = read_json(raw / "dataset.json")
    dataset["declared_counts"]["all"]["dog"] = 5
    report = run_validate(raw, dataset)
    assert failed_checks(report) == {"count_matches_declared"}
    message = failure_message(report)
    assert "class 'dog'" in message
    assert "2 readable images" in message
    assert "declares 5" in message
    assert "'cat'" not in message


def test_validate_counts_only_readable_images_against_declared(raw):
    (raw / "images" / "emu" / "5.png").write_bytes(b"\x89PNG broken")
    report = run_validate(raw)
    assert "count_matches_declared" in failed_checks(report)
    assert "class 'emu' (split all): 1 readable images, the dataset declares 2" in (
        failure_message(report)
    )


def test_validate_names_label_not_in_class_list(raw):
    dataset = read_json(raw / "dataset.json")
    dataset["classes"] = ["cat", "dog"]
    report = run_validate(raw, dataset)
    assert "label_in_classes" in failed_checks(report)
    message = failure_message(report)
    assert "emu/5.png: label 'emu' is not a known class" in message
    assert "emu/6.png: label 'emu' is not a known class" in message
    assert "cat/1.png" not in message


def test_validate_names_both_paths_of_cross_class_duplicate(raw):
    shutil.copyfile(raw / "images" / "cat" / "1.png", raw / "images" / "dog" / "4.png")
    report = run_validate(raw)
    assert failed_checks(report) == {"no_cross_class_duplicates"}
    message = failure_message(report)
    assert "cat/1.png: same content" in message
    assert "dog/4.png: same content" in message


def test_validate_allows_duplicates_within_one_class(raw):
    shutil.copyfile(raw / "images" / "cat" / "1.png", raw / "images" / "cat" / "2.png")
    report = run_validate(raw)
    assert report["success"] is True, failure_message(report)


def test_validate_names_class_below_min_per_class(tmp_path):
    relpaths = ["cat/1.png", "cat/2.png", "cat/3.png", "dog/4.png", "dog/5.png"]
    make_raw(tmp_path / "raw", relpaths)
    report = run_validate(tmp_path / "raw", min_per_class=3)
    assert failed_checks(report) == {"min_per_class"}
    message = failure_message(report)
    assert "class 'dog' (split all): 2 readable images" in message
    assert "validate.min_per_class=3" in message
    assert "'cat'" not in message


def test_failure_message_limits_the_list():
    report = {
        "checks": [
            {"check": "readable", "success": False, "failures": [f"f{i}" for i in range(25)]},
            {"check": "min_per_class", "success": True, "failures": []},
        ]
    }
    message = failure_message(report, limit=20)
    assert message.startswith("validation failed (readable):")
    assert "[readable] f19" in message
    assert "[readable] f20" not in message
    assert "... and 5 more" in message


# --- main ----------------------------------------------------------------------------------


def test_main_writes_outputs_on_success(raw, tmp_path):
    manifest_path = tmp_path / "interim" / "manifest.parquet"
    report_path = tmp_path / "reports" / "validation.json"
    main([str(raw), str(manifest_path), str(report_path), "--params", str(PARAMS_YAML)])
    assert read_json(report_path)["success"] is True
    assert len(pd.read_parquet(manifest_path)) == len(CLEAN)


def test_main_writes_outputs_even_when_validation_fails(raw, tmp_path):
    (raw / "images" / "cat" / "2.png").write_text("garbage")
    manifest_path = tmp_path / "interim" / "manifest.parquet"
    report_path = tmp_path / "reports" / "validation.json"

    with pytest.raises(ValidationFailed) as info:
        main([str(raw), str(manifest_path), str(report_path), "--params", str(PARAMS_YAML)])

    assert isinstance(info.value, StageError)
    assert "cat/2.png" in str(info.value)
    assert str(report_path) in str(info.value)

    manifest = pd.read_parquet(manifest_path)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert manifest.loc[manifest["path"] == "cat/2.png", "status"].tolist() == ["unreadable"]

    report = read_json(report_path)
    assert report["success"] is False
    assert check(report, "readable")["failed_rows"][0]["path"] == "cat/2.png"
