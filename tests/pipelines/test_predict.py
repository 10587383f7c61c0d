"""`imgflow predict`: files and folders in, top classes out; bad files named and skipped."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from imgflow.models.saving import save_model
from imgflow.pipelines.cli import main
from imgflow.pipelines.predict import image_files
from tests.imgflow.inference.helpers import (
    cut_with_end_marker,
    noise_jpeg,
    png_bytes,
    save_toy_model,
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_toy_model(tmp_path_factory.mktemp("predict") / "model.keras")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two dark and two bright images, in nested folders, of other sizes and modes."""
    root = tmp_path / "photos"
    (root / "night").mkdir(parents=True)
    (root / "day" / "noon").mkdir(parents=True)
    (root / "night" / "a.png").write_bytes(png_bytes(10))
    (root / "night" / "b.png").write_bytes(png_bytes(30, size=(40, 12), mode="RGB"))
    (root / "day" / "c.png").write_bytes(png_bytes(240))
    (root / "day" / "noon" / "d.png").write_bytes(png_bytes(220, size=(9, 31), mode="RGB"))
    return root


def predict(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["predict", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def top_classes(out: str) -> dict[str, str]:
    return {row["path"]: row["predictions"][0]["class"] for row in json.loads(out)}


def test_predict_classifies_every_image_in_folders_recursively(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = predict(capsys, str(photos), "--model", str(model_path), "--format", "json")
    assert status == 0 and err == ""
    assert top_classes(out) == {
        str(photos / "day" / "c.png"): "bright",
        str(photos / "day" / "noon" / "d.png"): "bright",
        str(photos / "night" / "a.png"): "dark",
        str(photos / "night" / "b.png"): "dark",
    }


def test_predict_prints_a_table_by_default(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = predict(capsys, str(photos / "night" / "a.png"), "--model", str(model_path))
    header, row = out.splitlines()
    assert status == 0 and header.split() == ["file", "top-1", "top-2"]
    assert row.split()[:2] == [str(photos / "night" / "a.png"), "dark"]


def test_predict_csv_lists_top_k_rows_per_file(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(photos / "day"), "--model", str(model_path), "--format", "csv", "--top-k", "1"]
    status, out, _ = predict(capsys, *args)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and [(r["rank"], r["class"]) for r in rows] == [("1", "bright")] * 2


def test_probabilities_of_each_file_sum_to_one(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = predict(capsys, str(photos), "--model", str(model_path), "--format", "json")
    for row in json.loads(out):
        assert sum(p["probability"] for p in row["predictions"]) == pytest.approx(1.0, abs=1e-5)


def test_files_that_are_not_usable_images_are_named_with_the_reason_and_skipped(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (photos / "notes.txt").write_text("not a picture")
    (photos / "cut.jpg").write_bytes(cut_with_end_marker(noise_jpeg()))
    status, out, err = predict(capsys, str(photos), "--model", str(model_path), "--format", "json")
    assert status == 1
    assert len(top_classes(out)) == 4  # the good ones are still classified
    lines = err.splitlines()
    assert f"imgflow predict: skipped {photos / 'cut.jpg'}: truncated: " in lines[0]
    assert lines[1].startswith(f"imgflow predict: skipped {photos / 'notes.txt'}: not_an_image")
    assert lines[2] == "imgflow predict: 4 files classified, 2 skipped (named above)"


def test_a_missing_path_is_named_and_skipped(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = predict(
        capsys, str(photos / "gone.png"), str(photos / "day"), "--model", str(model_path)
    )
    assert status == 1 and len(out.splitlines()) == 3  # header and the two day images
    assert f"skipped {photos / 'gone.png'}: no such file or folder" in err


def test_a_file_that_cannot_be_read_is_named_with_the_os_reason(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (photos / "day" / "moved.png").symlink_to(photos / "elsewhere.png")  # a dangling link
    status, _, err = predict(capsys, str(photos / "day"), "--model", str(model_path))
    moved = photos / "day" / "moved.png"
    assert status == 1
    assert f"skipped {moved}: cannot read it (No such file or directory)" in err


def test_a_missing_model_is_a_usage_error_naming_the_file(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = predict(capsys, str(photos), "--model", str(tmp_path / "none.keras"))
    assert status == 2 and out == ""
    assert err == f"imgflow predict: error: {tmp_path / 'none.keras'}: no such model file\n"


def test_a_model_without_metadata_is_a_usage_error(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    inputs = keras.Input((8, 8, 1))
    bare = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    save_model(bare, tmp_path / "bare.keras")
    status, _, err = predict(capsys, str(photos), "--model", str(tmp_path / "bare.keras"))
    assert status == 2 and "bare.keras: has no imgflow.json" in err


def test_top_k_below_one_is_a_usage_error(
    model_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["predict", str(photos), "--model", str(model_path), "--top-k", "0"])
    assert info.value.code == 2
    assert "--top-k: expected a whole number of at least 1, got '0'" in capsys.readouterr().err


def test_hidden_and_os_files_inside_folders_are_passed_over(photos: Path) -> None:
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (photos / "day" / "Thumbs.db").write_bytes(b"\0")
    (photos / ".cache").mkdir()
    (photos / ".cache" / "e.png").write_bytes(png_bytes(5))
    files, skipped = image_files([photos])
    assert [p.name for p in files] == ["c.png", "d.png", "a.png", "b.png"] and skipped == []


def test_a_file_named_twice_is_classified_once(photos: Path) -> None:
    files, _ = image_files([photos / "day", photos / "day" / "c.png"])
    assert [p.name for p in files] == ["c.png", "d.png"]


def test_an_empty_folder_is_named_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, skipped = image_files([tmp_path / "empty"])
    assert files == [] and [s.reason for s in skipped] == ["folder holds no image files"]


def test_the_installed_command_predicts_from_the_project_folder(
    model_path: Path, photos: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "model.keras").write_bytes(model_path.read_bytes())
    command = [sys.executable, "-m", "imgflow.pipelines.cli", "predict", str(photos / "day")]
    result = subprocess.run(
        [*command, "--format", "csv"], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [row["class"] for row in csv.DictReader(io.StringIO(result.stdout))][::2] == [
        "bright",
        "bright",
    ]
