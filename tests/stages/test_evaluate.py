"""stages/evaluate.py: main() on a tiny saved Keras model writes every report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from imgflow.common.errors import StageError
from stages.evaluate import main
from tests.imgflow.evaluation.helpers import CLASSES, LABELS, history_record, splits

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """split's folder for 4 test images of 4x4 pixels, and a 3-class model beside it."""
    import keras

    root = tmp_path_factory.mktemp("evaluate")
    folder = root / "processed"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "test_images.npy", rng.integers(0, 256, (4, 4, 4, 3), np.uint8))
    np.save(folder / "test_labels.npy", LABELS)
    (folder / "classes.json").write_text(json.dumps(CLASSES))
    splits().to_parquet(folder / "splits.parquet")
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    keras.Model(inputs, outputs).save(root / "model.keras")
    return folder


def model_in(folder: Path, processed: Path, record: dict[str, Any] | None) -> Path:
    """A copy of the fixture's model in `folder`, with `record` as history.json beside it."""
    folder.mkdir(exist_ok=True)
    model = folder / "model.keras"
    model.write_bytes((processed.parent / "model.keras").read_bytes())
    if record is not None:
        (folder / "history.json").write_text(json.dumps(record))
    return model


def params_with(tmp_path: Path, **evaluate: Any) -> Path:
    """A copy of the project's params.yaml with some `evaluate` keys changed."""
    raw = yaml.safe_load(PARAMS_YAML.read_text())
    raw["evaluate"].update(evaluate)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_main_writes_every_report(processed: Path, tmp_path: Path, capsys) -> None:
    model = model_in(tmp_path / "models", processed, history_record())
    reports = tmp_path / "reports"
    main([str(processed), str(model), str(reports), "--params", str(PARAMS_YAML)])
    metrics = json.loads((reports / "metrics.json").read_text())
    for key in ("accuracy", "f1_macro", "ece", "best_epoch", "majority_baseline", "degenerate"):
        assert key in metrics
    assert metrics["top_k_accuracy"] is None  # default k=5 covers all 3 classes
    assert metrics["overfitting_gap"] == pytest.approx(0.05)
    errors = pd.read_csv(reports / "class_errors.csv")
    assert errors.columns.tolist() == [
        "class",
        "support",
        "errors",
        "errors_per_1000",
        "predicted",
        "precision",
        "grade",
    ]
    assert len(pd.read_parquet(reports / "predictions.parquet")) == 4
    assert pd.read_csv(reports / "predictions.csv").columns.tolist() == ["actual", "predicted"]
    assert (reports / "confused_pairs.csv").exists()
    assert (reports / "summary.txt").read_text() in capsys.readouterr().out + "\n"


def test_main_writes_per_class_figures_by_name_apart_from_the_metrics(
    processed: Path, tmp_path: Path
) -> None:
    model = model_in(tmp_path / "models", processed, history_record())
    reports = tmp_path / "reports"
    main([str(processed), str(model), str(reports), "--params", str(PARAMS_YAML)])
    per_class = json.loads((reports / "per_class.json").read_text())
    assert list(per_class) == CLASSES
    assert set(per_class["ant"]) == {
        "precision",
        "recall",
        "f1",
        "support",
        "errors_per_1000",
        "grade",
    }
    assert "per_class" not in json.loads((reports / "metrics.json").read_text())


def test_main_with_tta_none_writes_and_prints_no_tta_figure(
    processed: Path, tmp_path: Path, capsys
) -> None:
    model = model_in(tmp_path / "models", processed, history_record())
    params = params_with(tmp_path, tta="none")
    main([str(processed), str(model), str(tmp_path / "reports"), "--params", str(params)])
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert [key for key in metrics if "tta" in key] == []
    assert "TTA" not in capsys.readouterr().out


def test_main_with_tta_flip_writes_the_flip_figure_only(processed: Path, tmp_path: Path) -> None:
    model = model_in(tmp_path / "models", processed, history_record())
    params = params_with(tmp_path, tta="flip")
    main([str(processed), str(model), str(tmp_path / "reports"), "--params", str(params)])
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert [key for key in metrics if "tta" in key] == ["accuracy_tta_flip"]


def test_main_adds_coarse_accuracy_when_split_wrote_a_hierarchy(
    processed: Path, tmp_path: Path
) -> None:
    data = tmp_path / "processed"
    data.mkdir()
    for file in processed.iterdir():
        (data / file.name).write_bytes(file.read_bytes())
    (data / "hierarchy.json").write_text('{"ant": "insect", "bee": "insect", "cat": "mammal"}')
    model = model_in(tmp_path / "models", processed, history_record())
    main([str(data), str(model), str(tmp_path / "reports"), "--params", str(PARAMS_YAML)])
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] <= metrics["coarse_accuracy"] <= 1.0


def test_main_without_history_names_the_file(processed: Path, tmp_path: Path) -> None:
    model = model_in(tmp_path / "models", processed, record=None)
    with pytest.raises(StageError, match=r"history.json: missing"):
        main([str(processed), str(model), str(tmp_path / "reports"), "--params", str(PARAMS_YAML)])
