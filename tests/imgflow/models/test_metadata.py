"""imgflow/models/metadata.py: class names and preprocessing, saved inside the .keras file."""

import json
import zipfile
from pathlib import Path

import keras
import pytest

from imgflow.models.metadata import (
    METADATA_MEMBER,
    MetadataError,
    ModelMetadata,
    read_metadata,
)
from imgflow.models.saving import save_model
from imgflow.params.resize import ResizeParams

METADATA = ModelMetadata(
    ("cat", "dog", "owl"),
    ResizeParams(
        image_size=(8, 10), color_mode="RGB", resample="bicubic", policy="pad", pad_color=(9, 8, 7)
    ),
    max_image_pixels=123_456,
)


def tiny_model(inputs: tuple[int, int, int] = (8, 10, 3), classes: int = 3) -> keras.Model:
    image = keras.Input(inputs, name="image")
    flat = keras.layers.Flatten()(image)
    return keras.Model(image, keras.layers.Dense(classes, activation="softmax")(flat))


def archive_with(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
    return path


def test_metadata_saved_with_the_model_reads_back_equal(tmp_path: Path) -> None:
    save_model(tiny_model(), tmp_path / "model.keras", METADATA)
    assert read_metadata(tmp_path / "model.keras") == METADATA


def test_metadata_records_every_resize_param_and_the_input(tmp_path: Path) -> None:
    save_model(tiny_model(), tmp_path / "model.keras", METADATA)
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        raw = json.loads(archive.read(METADATA_MEMBER))
    assert raw["preprocessing"] == {
        "image_size": [8, 10],
        "color_mode": "RGB",
        "resample": "bicubic",
        "policy": "pad",
        "pad_color": [9, 8, 7],
        "max_image_pixels": 123_456,
    }
    assert raw["classes"] == ["cat", "dog", "owl"] and raw["input"]["shape"] == [8, 10, 3]


def test_metadata_with_the_wrong_class_count_is_refused_at_save(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has 2 outputs but its metadata names 3 classes"):
        save_model(tiny_model(classes=2), tmp_path / "model.keras", METADATA)


def test_metadata_with_the_wrong_input_shape_is_refused_at_save(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"takes \(8, 10, 1\) images but its metadata says \(8, 10, 3\)"
    ):
        save_model(tiny_model(inputs=(8, 10, 1)), tmp_path / "model.keras", METADATA)


def test_a_model_saved_without_metadata_names_the_missing_member(tmp_path: Path) -> None:
    save_model(tiny_model(), tmp_path / "model.keras")
    with pytest.raises(MetadataError, match=f"model.keras: has no {METADATA_MEMBER}"):
        read_metadata(tmp_path / "model.keras")


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="nothing.keras: no such model file"):
        read_metadata(tmp_path / "nothing.keras")


def test_a_file_that_is_not_an_archive_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_text("hello")
    with pytest.raises(MetadataError, match="model.keras: not a .keras model file"):
        read_metadata(tmp_path / "model.keras")


def test_metadata_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = archive_with(tmp_path / "model.keras", METADATA_MEMBER, b"{oops")
    with pytest.raises(MetadataError, match=f"{METADATA_MEMBER} is not valid JSON"):
        read_metadata(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 99}, "metadata format 99, expected 1"),
        ({"classes": []}, "classes: expected a list of names, got []"),
        ({"preprocessing": None}, "preprocessing: expected a mapping"),
        ({"preprocessing.color_mode": "CMYK"}, "preprocessing.color_mode: Input should be"),
        ({"preprocessing.image_size": [4, 4]}, "preprocessing.image_size: Value error"),
        ({"preprocessing.max_image_pixels": 0}, "preprocessing.max_image_pixels: expected a"),
    ],
)
def test_a_bad_metadata_value_is_named_by_its_key(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    raw = METADATA.to_dict()
    [(key, value)] = change.items()
    section, _, field = key.partition(".")
    if field:
        raw[section][field] = value
    else:
        raw[section] = value
    path = archive_with(tmp_path / "model.keras", METADATA_MEMBER, json.dumps(raw).encode())
    with pytest.raises(MetadataError) as info:
        read_metadata(path)
    assert str(info.value).startswith(f"{path}: {METADATA_MEMBER}: ")
    assert message in str(info.value)
