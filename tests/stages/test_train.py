import json
from pathlib import Path

import keras
import numpy as np
import pytest

from stages.errors import StageError
from stages.params import TrainParams
from stages.train import fit, main, make_optimizer


def toy_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes a model can tell apart: dark images vs bright images."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, size=(n, 8, 8, 1)) + labels[:, None, None, None] * 190
    return images.astype(np.uint8), labels.astype(np.int64)


def small(**overrides: object) -> TrainParams:
    return TrainParams(**{"model": "mlp", "epochs": 2, "batch_size": 16, **overrides})


def test_fit_learns_a_separable_toy_problem() -> None:
    model, history = fit(toy_split(64, 0), toy_split(32, 1), 2, small(epochs=5))
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 5
    assert history["val_accuracy"][-1] >= 0.9


def test_same_seed_gives_same_weights() -> None:
    first, _ = fit(toy_split(32, 0), toy_split(16, 1), 2, small())
    second, _ = fit(toy_split(32, 0), toy_split(16, 1), 2, small())
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sgd_optimizer_uses_nesterov_momentum() -> None:
    optimizer = make_optimizer(small(optimizer="sgd", momentum=0.8, learning_rate=0.05))
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.nesterov and optimizer.momentum == pytest.approx(0.8)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)


def test_adam_is_the_default_optimizer() -> None:
    assert isinstance(make_optimizer(small()), keras.optimizers.Adam)


def test_empty_validation_split_is_refused() -> None:
    empty = (np.zeros((0, 8, 8, 1), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(StageError, match="val"):
        fit(toy_split(16, 0), empty, 2, small())


def test_main_writes_model_provenance_and_live_log(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    processed.mkdir()
    for split, seed in (("train", 0), ("val", 1)):
        images, labels = toy_split(32, seed)
        np.save(processed / f"{split}_images.npy", images)
        np.save(processed / f"{split}_labels.npy", labels)
    (processed / "classes.json").write_text('["dark", "bright"]')
    params = tmp_path / "params.yaml"
    params.write_text(
        (Path(__file__).parents[2] / "params.yaml")
        .read_text()
        .replace("model: cnn_basic", "model: mlp")
        .replace("epochs: 8", "epochs: 2")
    )
    model_path = tmp_path / "models" / "model.keras"
    main([str(processed), str(model_path), str(tmp_path / "train"), "--params", str(params)])

    model = keras.models.load_model(model_path)
    assert model.output_shape == (None, 2)
    info = json.loads((tmp_path / "models" / "train_info.json").read_text())
    assert info["classes"] == ["dark", "bright"]
    assert info["epochs_run"] == 2 and info["input_shape"] == [8, 8, 1]
    assert {"tensorflow", "keras", "numpy", "python"} <= set(info["versions"])
    for phase in ("train", "eval"):
        log = (tmp_path / "train" / "plots" / "metrics" / phase / "accuracy.tsv").read_text()
        assert len(log.strip().splitlines()) == 3  # header + one row per epoch
