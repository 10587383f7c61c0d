"""`imgflow export`: the model file as a SavedModel, a TFLite file and their metadata."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from imgflow.inference.classifier import load_classifier
from imgflow.pipelines.cli import main
from tests.imgflow.inference.helpers import save_toy_model
from tests.imgflow.training.helpers import toy_split


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    save_toy_model(root / "models" / "model.keras")
    return root


def test_export_writes_saved_model_tflite_and_metadata_into_models_export(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--project-dir", str(project)]) == 0
    out = project / "models" / "export"
    assert (out / "saved_model" / "saved_model.pb").is_file() and (out / "model.tflite").is_file()
    assert json.loads((out / "imgflow.json").read_text())["classes"] == ["dark", "bright"]
    assert "model.tflite  TFLite, float32" in capsys.readouterr().out


def test_exported_saved_model_predicts_as_the_model_file(project: Path, tmp_path: Path) -> None:
    assert (
        main(["export", "--model", str(project / "models" / "model.keras"), "--out", str(tmp_path)])
        == 0
    )
    images = toy_split(8, 3)[0].astype(np.float32)
    served = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serve"]
    predictions = served(image=tf.constant(images))["output_0"].numpy()
    expected = load_classifier(project / "models" / "model.keras").probabilities(images)
    np.testing.assert_allclose(predictions, expected, rtol=0, atol=1e-5)


def test_export_of_a_missing_model_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--model", str(tmp_path / "none.keras")]) == 2
    assert capsys.readouterr().err == (
        f"imgflow export: error: {tmp_path / 'none.keras'}: no such model file\n"
    )


def test_export_into_a_path_that_is_a_file_names_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("a file")
    model = str(project / "models" / "model.keras")
    assert main(["export", "--model", model, "--out", str(tmp_path / "taken")]) == 1
    assert capsys.readouterr().err.startswith(f"imgflow export: error: {tmp_path / 'taken'}: ")
