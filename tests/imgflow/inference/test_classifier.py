"""imgflow/inference/classifier.py: a model file and its metadata, loaded together."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from imgflow.inference.classifier import load_classifier
from imgflow.models.metadata import METADATA_MEMBER, MetadataError
from tests.imgflow.inference.helpers import CLASSES, save_toy_model, toy_metadata
from tests.imgflow.training.helpers import toy_split


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_toy_model(tmp_path_factory.mktemp("classifier") / "model.keras")


def with_metadata(source: Path, target: Path, raw: dict) -> Path:
    """A copy of the model file whose metadata member is `raw`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != METADATA_MEMBER:
                new.writestr(info, old.read(info))
        new.writestr(METADATA_MEMBER, json.dumps(raw))
    return target


def test_load_classifier_reads_the_model_and_its_metadata(model_path: Path) -> None:
    classifier = load_classifier(model_path)
    assert classifier.metadata == toy_metadata()
    images, labels = toy_split(16, 1)
    predicted = classifier.probabilities(images).argmax(axis=1)
    assert (predicted == labels).mean() > 0.9  # dark vs bright: an easy problem


def test_no_images_give_no_rows(model_path: Path) -> None:
    empty = np.zeros((0, 8, 8, 1), dtype=np.uint8)
    assert load_classifier(model_path).probabilities(empty).shape == (0, len(CLASSES))


def test_metadata_naming_more_classes_than_the_model_has_is_refused(
    model_path: Path, tmp_path: Path
) -> None:
    raw = {**toy_metadata().to_dict(), "classes": ["a", "b", "c"]}
    path = with_metadata(model_path, tmp_path / "model.keras", raw)
    with pytest.raises(MetadataError, match="has 2 outputs but its metadata names 3 classes"):
        load_classifier(path)


def test_metadata_with_another_input_size_is_refused(model_path: Path, tmp_path: Path) -> None:
    raw = toy_metadata(image_size=(16, 16)).to_dict()
    path = with_metadata(model_path, tmp_path / "model.keras", raw)
    with pytest.raises(MetadataError, match=r"takes \(8, 8, 1\) images but its metadata says"):
        load_classifier(path)


def test_an_archive_keras_cannot_load_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(METADATA_MEMBER, json.dumps(toy_metadata().to_dict()))
    with pytest.raises(MetadataError, match="model.keras: Keras cannot load it"):
        load_classifier(path)
