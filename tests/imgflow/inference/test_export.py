"""imgflow/inference/export.py: SavedModel and TFLite files that predict as the Keras model
does, augmentation and dropout in inference mode."""

import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from imgflow.inference.export import ENDPOINT, INPUT_NAME, OUTPUT_NAME, Exported, export_model
from imgflow.models.metadata import ModelMetadata
from imgflow.models.portable import float32_model
from imgflow.models.presets import ModelOptions, build_model
from imgflow.params.resize import ResizeParams

METADATA = ModelMetadata(
    ("a", "b", "c"), ResizeParams(image_size=(16, 16), color_mode="RGB"), 1_000_000
)
IMAGES = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3)).astype(np.float32)


def augmented_model() -> keras.Model:
    """Keras' own random layers, which default to training mode when called without a mode."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.RandomFlip("horizontal")(x)
    x = keras.layers.RandomTranslation(0.25, 0.25, fill_mode="constant")(x)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def tflite_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's notice of LiteRT
        interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner(ENDPOINT)
    return runner(**{INPUT_NAME: images})[OUTPUT_NAME]


def saved_model_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    served = tf.saved_model.load(str(path)).signatures[ENDPOINT]
    return served(**{INPUT_NAME: tf.constant(images)})[OUTPUT_NAME].numpy()


@pytest.fixture(scope="module")
def augmented(tmp_path_factory: pytest.TempPathFactory) -> tuple[keras.Model, Exported]:
    model = augmented_model()
    return model, export_model(model, METADATA, tmp_path_factory.mktemp("augmented"))


@pytest.fixture(scope="module")
def bfloat16(tmp_path_factory: pytest.TempPathFactory) -> tuple[keras.Model, Exported]:
    model = build_model("cnn_basic", (16, 16, 3), 3, ModelOptions(mixed_precision=True))
    return model, export_model(model, METADATA, tmp_path_factory.mktemp("bfloat16"))


def inference(model: keras.Model) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(IMAGES, training=False))


def test_the_test_model_changes_its_output_in_training_mode() -> None:
    # Without this, matching predictions would not show the export is in inference mode.
    model = augmented_model()
    training = keras.ops.convert_to_numpy(model(IMAGES, training=True))
    assert np.abs(training - inference(model)).max() > 1e-3


def test_saved_model_predicts_as_the_keras_model_in_inference_mode(augmented) -> None:
    model, exported = augmented
    predictions = saved_model_predictions(exported.saved_model, IMAGES)
    np.testing.assert_allclose(predictions, inference(model), rtol=0, atol=1e-5)


def test_tflite_predicts_as_the_keras_model_in_inference_mode(augmented) -> None:
    model, exported = augmented
    predictions = tflite_predictions(exported.tflite, IMAGES)
    np.testing.assert_allclose(predictions, inference(model), rtol=0, atol=1e-5)


def test_export_writes_the_metadata_beside_the_model(augmented) -> None:
    _, exported = augmented
    written = json.loads(exported.metadata.read_text())
    assert written["classes"] == ["a", "b", "c"]
    assert written["preprocessing"] == METADATA.to_dict()["preprocessing"]
    assert written["tflite"]["path"] == "model.tflite" and written["tflite"]["input"] == "image"
    assert exported.metadata.parent == exported.tflite.parent == exported.saved_model.parent


def test_export_leaves_other_files_in_the_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    export_model(augmented_model(), METADATA, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_bfloat16_models_saved_model_predicts_as_the_keras_model(bfloat16) -> None:
    model, exported = bfloat16
    predictions = saved_model_predictions(exported.saved_model, IMAGES)
    np.testing.assert_allclose(predictions, inference(model), rtol=0, atol=1e-5)


def test_bfloat16_models_tflite_file_predicts_as_its_float32_copy(bfloat16) -> None:
    # TFLite has no bfloat16 kernels: the file computes in float32, from the same weights.
    model, exported = bfloat16
    predictions = tflite_predictions(exported.tflite, IMAGES)
    np.testing.assert_allclose(predictions, inference(float32_model(model)), rtol=0, atol=1e-5)
    assert json.loads(exported.metadata.read_text())["tflite"]["precision"].startswith("float32")
