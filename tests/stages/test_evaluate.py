"""stages/evaluate.py: scores on hand-checkable probabilities, the overfitting figures from
history.json, and main() on a tiny saved Keras model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stages.errors import StageError
from stages.evaluate import evaluate, main, predictions_table, read_coarse_groups, score
from stages.evaluate_params import EvaluateParams
from stages.evaluate_report import overfitting, summary

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
CLASSES = ["ant", "bee", "cat"]
PROBABILITIES = np.array(
    [
        [0.8, 0.1, 0.1],  # ant, right
        [0.2, 0.7, 0.1],  # bee, right
        [0.6, 0.3, 0.1],  # cat, predicted ant
        [0.1, 0.1, 0.8],  # cat, right
    ]
)
LABELS = np.array([0, 1, 2, 2])
# Flip TTA puts the third image right and the first wrong.
FLIPPED = np.array([[0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.1, 0.1, 0.8]])


def splits() -> pd.DataFrame:
    labels = ["ant", "bee", "ant", "bee", "cat", "cat"]
    return pd.DataFrame(
        {
            "row": range(6),
            "path": [f"{c}/{i}.png" for i, c in enumerate(labels)],
            "label": labels,
            "label_index": [0, 1, 0, 1, 2, 2],
            "split": ["train", "test", "train", "test", "test", "test"],
        }
    )


def history_record(**changes: Any) -> dict[str, Any]:
    """history.json as train writes it: 3 epochs, best validation accuracy at epoch 2."""
    record = {
        "epochs_run": 3,
        "history": {
            "loss": [1.0, 0.6, 0.4],
            "accuracy": [0.5, 0.8, 0.95],
            "val_loss": [1.1, 0.7, 0.8],
            "val_accuracy": [0.45, 0.75, 0.7],
            "learning_rate": [0.001, 0.001, 0.001],
        },
        "best_epoch": 2,
        "best_val_accuracy": 0.75,
        "train_accuracy_at_best_epoch": 0.8,
        "stopped_by": "epochs",
    }
    record.update(changes)
    return record


TRAINING = overfitting(history_record(), "history.json")


def test_accuracy_and_loss_follow_the_probabilities() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES)
    assert metrics["accuracy"] == pytest.approx(0.75)
    expected_loss = -np.mean(np.log([0.8, 0.7, 0.1, 0.8]))
    assert metrics["loss"] == pytest.approx(expected_loss)


def test_per_class_metrics_are_keyed_by_class_name() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES)
    assert list(metrics["per_class"]) == CLASSES
    ant = metrics["per_class"]["ant"]
    assert ant["precision"] == pytest.approx(0.5)  # one of two "ant" predictions is right
    assert ant["recall"] == pytest.approx(1.0)
    assert metrics["per_class"]["cat"]["support"] == 2
    assert metrics["f1_macro"] == pytest.approx(
        np.mean([metrics["per_class"][c]["f1"] for c in CLASSES])
    )


def test_top_k_and_calibration_error_are_scored() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES, top_k=2, calibration_bins=10)
    assert metrics["top_k"] == 2
    assert metrics["top_k_accuracy"] == pytest.approx(0.75)  # the missed cat is last choice
    # bins: 0.6 wrong alone; 0.7 right alone; 0.8 twice, right
    assert metrics["ece"] == pytest.approx((0.6 + 0.3 + 2 * 0.2) / 4)


def test_top_k_not_below_the_class_count_is_null() -> None:
    metrics, _ = score(LABELS, PROBABILITIES, CLASSES, top_k=5)
    assert metrics["top_k_accuracy"] is None


def test_text_report_has_four_decimals_and_class_names() -> None:
    _, text = score(LABELS, PROBABILITIES, CLASSES)
    assert "ant" in text and "0.7500" in text


def test_loss_stays_finite_for_a_certain_wrong_prediction() -> None:
    metrics, _ = score(np.array([0]), np.array([[0.0, 1.0, 0.0]]), CLASSES)
    assert math.isfinite(metrics["loss"])


def test_empty_test_split_is_refused() -> None:
    with pytest.raises(StageError, match="test split is empty"):
        score(np.zeros(0, np.int64), np.zeros((0, 3)), CLASSES)


def test_label_outside_the_classes_is_refused() -> None:
    with pytest.raises(StageError, match=r"test labels must lie in 0\.\.2"):
        score(np.array([0, 1, 2, 3]), PROBABILITIES, CLASSES)


def test_model_with_other_class_count_is_refused() -> None:
    with pytest.raises(StageError, match="retrain on these classes"):
        score(LABELS, PROBABILITIES[:, :2], CLASSES)


def test_predictions_table_lines_up_with_the_test_rows() -> None:
    table = predictions_table(splits(), PROBABILITIES, CLASSES)
    assert list(table["path"]) == ["bee/1.png", "bee/3.png", "cat/4.png", "cat/5.png"]
    assert list(table["predicted_label"]) == ["ant", "bee", "ant", "cat"]
    assert table["probability"].tolist() == pytest.approx([0.8, 0.7, 0.6, 0.8])
    assert table["true_probability"].tolist() == pytest.approx([0.1, 0.7, 0.1, 0.8])


def test_predictions_table_refuses_a_test_count_mismatch() -> None:
    with pytest.raises(StageError, match="splits.parquet lists 4 test images"):
        predictions_table(splits(), PROBABILITIES[:3], CLASSES)


def test_both_accuracies_are_reported_whichever_feeds_the_tables() -> None:
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams())
    assert result.metrics["accuracy"] == pytest.approx(0.75)
    assert result.metrics["accuracy_tta_flip"] == pytest.approx(0.75)
    assert list(result.predictions["predicted_label"]) == ["ant", "bee", "ant", "cat"]


def test_tta_flip_feeds_the_flipped_predictions_to_the_tables() -> None:
    params = EvaluateParams(tta="flip")
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)
    assert list(result.predictions["predicted_label"]) == ["bee", "bee", "cat", "cat"]
    assert result.metrics["per_class"]["ant"]["recall"] == 0.0
    assert result.class_errors["errors"].tolist() == [1, 0, 0]


def test_tta_flip_translate_feeds_its_predictions_and_adds_its_accuracy() -> None:
    params = EvaluateParams(tta="flip_translate")
    result = evaluate(
        LABELS, PROBABILITIES, PROBABILITIES, CLASSES, splits(), TRAINING, params, None, FLIPPED
    )
    assert list(result.predictions["predicted_label"]) == ["bee", "bee", "cat", "cat"]
    assert result.metrics["accuracy_tta_flip_translate"] == pytest.approx(0.75)
    assert result.metrics["accuracy_tta_flip"] == pytest.approx(0.75)


def test_tta_flip_translate_without_its_predictions_is_refused() -> None:
    params = EvaluateParams(tta="flip_translate")
    with pytest.raises(StageError, match="evaluate.tta: flip_translate"):
        evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, params)


def test_evaluation_grades_classes_and_lists_confused_pairs() -> None:
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams())
    assert result.class_errors["grade"].tolist() == ["acceptable", "acceptable", "failing"]
    assert result.metrics["class_grades"]["failing"] == 1
    assert result.confused_pairs[["class_a", "class_b", "total"]].values.tolist() == [
        ["ant", "cat", 1]
    ]
    assert result.metrics["overfitting_gap"] == TRAINING["overfitting_gap"]
    assert "coarse_accuracy" not in result.metrics


def test_coarse_accuracy_is_added_with_a_hierarchy() -> None:
    groups = np.array([0, 0, 1])  # ant and bee are insects, cat is not
    result = evaluate(
        LABELS, FLIPPED, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams(), groups
    )
    # the ant predicted as bee counts at the coarse level
    assert result.metrics["accuracy"] == pytest.approx(0.75)
    assert result.metrics["coarse_accuracy"] == pytest.approx(1.0)


def test_overfitting_gaps_at_best_and_last_epoch() -> None:
    assert TRAINING["best_epoch"] == 2 and TRAINING["epochs_run"] == 3
    assert TRAINING["overfitting_gap"] == pytest.approx(0.8 - 0.75)
    assert TRAINING["final_overfitting_gap"] == pytest.approx(0.95 - 0.7)


@pytest.mark.parametrize("key", ["history", "best_epoch", "train_accuracy_at_best_epoch"])
def test_history_missing_a_key_names_the_file_and_key(key: str) -> None:
    record = history_record()
    del record[key]
    with pytest.raises(StageError, match=f"models/history.json: missing key '{key}'"):
        overfitting(record, "models/history.json")


def test_history_without_validation_accuracy_is_named() -> None:
    record = history_record(history={"accuracy": [0.5]})
    with pytest.raises(StageError, match="history: missing key 'val_accuracy'"):
        overfitting(record, "history.json")


def test_uneven_history_is_refused() -> None:
    record = history_record(history={"accuracy": [0.5, 0.6], "val_accuracy": [0.5]})
    with pytest.raises(StageError, match="got 2 and 1 epochs"):
        overfitting(record, "history.json")


def test_best_epoch_outside_the_history_is_refused() -> None:
    with pytest.raises(StageError, match=r"best_epoch 4 is outside 1\.\.3"):
        overfitting(history_record(best_epoch=4), "history.json")


def test_hierarchy_file_is_optional(tmp_path: Path) -> None:
    assert read_coarse_groups(tmp_path / "hierarchy.json", CLASSES) is None


def test_hierarchy_file_must_map_names_to_names(tmp_path: Path) -> None:
    path = tmp_path / "hierarchy.json"
    path.write_text('{"ant": 1}')
    with pytest.raises(StageError, match="hierarchy.json: expected a JSON object"):
        read_coarse_groups(path, CLASSES)


def test_summary_names_accuracies_worst_class_pairs_and_gap() -> None:
    result = evaluate(LABELS, PROBABILITIES, FLIPPED, CLASSES, splits(), TRAINING, EvaluateParams())
    text = summary(result)
    assert "accuracy 0.7500, with flip TTA 0.7500" in text
    assert "cat (500 errors per 1,000, failing)" in text
    assert "ant <-> cat (1)" in text
    assert "+0.0500 at the best epoch (2 of 3)" in text


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


def test_main_writes_every_report(processed: Path, tmp_path: Path, capsys) -> None:
    model = model_in(tmp_path / "models", processed, history_record())
    reports = tmp_path / "reports"
    main([str(processed), str(model), str(reports), "--params", str(PARAMS_YAML)])
    metrics = json.loads((reports / "metrics.json").read_text())
    for key in ("accuracy", "accuracy_tta_flip", "f1_macro", "ece", "best_epoch"):
        assert key in metrics
    assert metrics["top_k_accuracy"] is None  # default k=5 covers all 3 classes
    assert metrics["overfitting_gap"] == pytest.approx(0.05)
    errors = pd.read_csv(reports / "class_errors.csv")
    assert errors.columns.tolist() == ["class", "support", "errors", "errors_per_1000", "grade"]
    assert len(pd.read_parquet(reports / "predictions.parquet")) == 4
    assert pd.read_csv(reports / "predictions.csv").columns.tolist() == ["actual", "predicted"]
    assert (reports / "confused_pairs.csv").exists()
    assert (reports / "summary.txt").read_text() in capsys.readouterr().out + "\n"


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
