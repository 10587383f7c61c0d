import json
import zipfile
from pathlib import Path

import keras
import numpy as np

from imgflow.models.metadata import ModelMetadata
from imgflow.models.presets import ModelOptions, build_model, load_model
from imgflow.models.saving import ZIP_EPOCH, reproducible_member, save_model
from imgflow.params.resize import ResizeParams


def twin_models() -> tuple[keras.Model, keras.Model]:
    """Two distinct model objects with the same weights (bfloat16: layers share a dtype
    policy, which Keras saves under a per-process object id)."""
    options = ModelOptions(mixed_precision=True)
    # Fresh name counters before each build: the same layer names, as in two training processes.
    keras.backend.clear_session()
    first = build_model("cnn_basic", (8, 8, 3), 3, options)
    keras.backend.clear_session()
    second = build_model("cnn_basic", (8, 8, 3), 3, options)
    second.set_weights(first.get_weights())
    return first, second


def test_the_same_weights_saved_from_two_models_give_identical_bytes(tmp_path: Path) -> None:
    first, second = twin_models()
    first.save(tmp_path / "keras_first.keras")
    second.save(tmp_path / "keras_second.keras")
    # The ids Keras writes differ between the two objects; the saved files must not.
    with (
        zipfile.ZipFile(tmp_path / "keras_first.keras") as a,
        zipfile.ZipFile(tmp_path / "keras_second.keras") as b,
    ):
        assert a.read("config.json") != b.read("config.json")
    save_model(first, tmp_path / "first.keras")
    save_model(second, tmp_path / "second.keras")
    assert (tmp_path / "first.keras").read_bytes() == (tmp_path / "second.keras").read_bytes()


def test_saved_archive_has_no_save_time(tmp_path: Path) -> None:
    save_model(twin_models()[0], tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_EPOCH}
        metadata = json.loads(archive.read("metadata.json"))
    assert "date_saved" not in metadata and "keras_version" in metadata


def test_saved_model_loads_with_the_same_predictions(tmp_path: Path) -> None:
    model = twin_models()[0]
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    save_model(model, tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    expected = model.predict(images, verbose=0)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)


def test_shared_ids_are_renumbered_consistently() -> None:
    config = {"a": {"shared_object_id": 9001, "x": 1}, "b": [{"shared_object_id": 42}]}
    config["c"] = {"shared_object_id": 9001}
    renumbered = json.loads(reproducible_member("config.json", json.dumps(config).encode()))
    assert renumbered == {
        "a": {"shared_object_id": 1, "x": 1},
        "b": [{"shared_object_id": 2}],
        "c": {"shared_object_id": 1},
    }


def test_the_same_weights_and_metadata_saved_twice_give_identical_bytes(tmp_path: Path) -> None:
    metadata = ModelMetadata(
        ("a", "b", "c"), ResizeParams(image_size=(8, 8), color_mode="RGB"), 1_000
    )
    first, second = twin_models()
    save_model(first, tmp_path / "first.keras", metadata)
    save_model(second, tmp_path / "second.keras", metadata)
    assert (tmp_path / "first.keras").read_bytes() == (tmp_path / "second.keras").read_bytes()


def test_saved_model_holds_no_optimizer(tmp_path: Path) -> None:
    model = twin_models()[0]
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    save_model(model, tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        assert json.loads(archive.read("config.json"))["compile_config"] == {}  # uncompiled
