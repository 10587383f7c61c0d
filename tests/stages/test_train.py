"""stages/train.py: main() writes the model, its history, provenance and the live log."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from imgflow.common.errors import StageError
from imgflow.models.metadata import read_metadata
from stages.train import main
from tests.imgflow.training.helpers import toy_split

PARAMS_YAML = Path(__file__).parents[2] / "params.yaml"
# The toy split's images: 8x8 grey.
TOY_RESIZE = {
    "image_size": [8, 8],
    "color_mode": "L",
    "resample": "bilinear",
    "policy": "pad",
    "pad_color": [9, 9, 9],
}
TOY_INPUT = {
    "resize": TOY_RESIZE,
    "chosen": {"color_mode": "all 64 images are grayscale"},
    "max_image_pixels": 4321,
    "mirror_safe": False,
}


def toy_project(
    tmp_path: Path, model_input: dict[str, object] = TOY_INPUT, **train: object
) -> list[str]:
    """A processed split of the toy problem (with resize's input.json) and params for it:
    train's arguments."""
    processed = tmp_path / "processed"
    processed.mkdir()
    for split, seed in (("train", 0), ("val", 1)):
        images, labels = toy_split(32, seed)
        np.save(processed / f"{split}_images.npy", images)
        np.save(processed / f"{split}_labels.npy", labels)
    (processed / "classes.json").write_text('["dark", "bright"]')
    (processed / "input.json").write_text(json.dumps(model_input))
    raw = yaml.safe_load(PARAMS_YAML.read_text())
    raw["train"] = {"model": "mlp", "epochs": 2, "batch_size": 16, **train}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    model_path = tmp_path / "models" / "model.keras"
    return [str(processed), str(model_path), str(tmp_path / "train"), "--params", str(params)]


def test_main_writes_model_history_provenance_and_live_log(tmp_path: Path) -> None:
    main(toy_project(tmp_path))
    model_path = tmp_path / "models" / "model.keras"

    model = keras.models.load_model(model_path)
    assert model.output_shape == (None, 2)
    info = json.loads((tmp_path / "models" / "train_info.json").read_text())
    assert info["classes"] == ["dark", "bright"] and info["input_shape"] == [8, 8, 1]
    assert {"tensorflow", "keras", "numpy", "python"} <= set(info["versions"])
    assert info["precision"] == {"used": "none", "why": "train.mixed_precision: none"}
    assert {"cpu_model", "isa", "gpus"} <= set(info["machine"])
    assert len(info["seconds_per_epoch"]) == 2
    record = json.loads((tmp_path / "models" / "history.json").read_text())
    assert record["epochs_run"] == 2 and record["stopped_by"] == "epochs"
    history = record["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    best = record["best_epoch"] - 1
    assert record["best_val_accuracy"] == max(history["val_accuracy"])
    assert record["train_accuracy_at_best_epoch"] == history["accuracy"][best]
    for phase in ("train", "eval"):
        log = (tmp_path / "train" / "plots" / "metrics" / phase / "accuracy.tsv").read_text()
        assert len(log.strip().splitlines()) == 3  # header + one row per epoch
    rates = (tmp_path / "train" / "plots" / "metrics" / "train" / "lr.tsv").read_text()
    assert len(rates.strip().splitlines()) == 3


def test_main_saves_the_class_names_and_preprocessing_in_the_model(tmp_path: Path) -> None:
    main(toy_project(tmp_path))
    metadata = read_metadata(tmp_path / "models" / "model.keras")
    assert metadata.classes == ("dark", "bright")
    assert metadata.input_shape == (8, 8, 1) and metadata.resize.policy == "pad"
    assert metadata.resize.pad_color == (9, 9, 9)
    assert metadata.max_image_pixels == 4321  # resize's, from input.json


def test_main_records_what_was_chosen_from_the_data_and_why(tmp_path: Path, capsys) -> None:
    main(toy_project(tmp_path, epochs=None, min_steps=20))  # the preset's 8 epochs, stretched
    info = json.loads((tmp_path / "models" / "train_info.json").read_text())
    assert info["input"]["chosen"] == TOY_INPUT["chosen"]
    assert info["input"]["resize"]["image_size"] == [8, 8]
    chosen = info["chosen"]
    # 32 images in batches of 16: 2 steps per epoch, so 10 epochs make the 20 steps.
    assert info["params"]["epochs"] == 10 and chosen["epochs"].startswith("10 (not 8)")
    assert info["params"]["augmentation"]["flip"] is False  # the source said mirroring changes
    assert chosen["augmentation.flip"].startswith("off")
    assert info["params"]["augmentation"]["translate"] == 1  # 8 px / 16, at least 1
    assert info["params"]["early_stopping"]["patience"] == 3
    printed = capsys.readouterr().out
    assert "train: color_mode: all 64 images are grayscale" in printed
    assert "train: epochs: 10 (not 8)" in printed


def test_main_refuses_images_of_another_size_than_its_input_record(tmp_path: Path) -> None:
    model_input = {**TOY_INPUT, "resize": {**TOY_RESIZE, "image_size": [16, 16]}}
    args = toy_project(tmp_path, model_input)
    with pytest.raises(StageError, match=r"train_images.npy: images are 8x8x1 .* says 16x16x1"):
        main(args)
    assert not (tmp_path / "models" / "model.keras").exists()


def test_main_without_resizes_input_record_names_the_file(tmp_path: Path) -> None:
    args = toy_project(tmp_path)
    (tmp_path / "processed" / "input.json").unlink()
    with pytest.raises(StageError, match=r"processed/input.json: missing"):
        main(args)
