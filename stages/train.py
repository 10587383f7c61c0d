"""Stage 5, `train`: fit a Keras model preset on the train split, validating on val.

Outputs:
  models/model.keras        the trained model (normalisation inside)
  models/train_info.json    provenance: classes, input shape, params, versions, timings
  reports/train/            DVCLive log: per-epoch loss and accuracy, train and validation
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

import keras  # noqa: E402
import numpy as np  # noqa: E402

from stages.artifacts import atomic_dir, atomic_file, read_json, write_json  # noqa: E402
from stages.errors import StageError, run_stage  # noqa: E402
from stages.models import build_model  # noqa: E402
from stages.params import TrainParams, load_params  # noqa: E402


def make_optimizer(params: TrainParams) -> keras.optimizers.Optimizer:
    if params.optimizer == "sgd":
        return keras.optimizers.SGD(params.learning_rate, momentum=params.momentum, nesterov=True)
    return keras.optimizers.Adam(params.learning_rate)


def seed_everything(seed: int) -> None:
    """Same seed, same data, same machine: same weights."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    params: TrainParams,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build, compile and fit the configured preset; return the model and its history."""
    (x_train, y_train), (x_val, y_val) = train, val
    if len(x_train) == 0 or len(x_val) == 0:
        raise StageError(f"need train and val images, got {len(x_train)} and {len(x_val)}")
    seed_everything(params.seed)
    model = build_model(params.model, tuple(x_train.shape[1:]), n_classes)
    model.compile(
        optimizer=make_optimizer(params),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=params.epochs,
        batch_size=params.batch_size,
        shuffle=True,
        callbacks=callbacks or [],
        verbose=2,
    )
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def train_info(
    model: keras.Model,
    classes: list[str],
    params: TrainParams,
    history: dict[str, list[float]],
    seconds: float,
) -> dict[str, Any]:
    import tensorflow as tf

    val_acc = history.get("val_accuracy", [])
    best = int(np.argmax(val_acc)) if val_acc else -1
    return {
        "classes": classes,
        "input_shape": list(model.input_shape[1:]),
        "params": params.model_dump(),
        "epochs_run": len(history.get("loss", [])),
        "best_epoch": best + 1,
        "best_val_accuracy": val_acc[best] if val_acc else None,
        "train_seconds": round(seconds, 2),
        "parameters": int(model.count_params()),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }


def main(argv: list[str] | None = None) -> None:
    from dvclive import Live
    from dvclive.keras import DVCLiveCallback

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("model", type=Path, help="output model, e.g. models/model.keras")
    parser.add_argument("live_dir", type=Path, help="DVCLive log folder, e.g. reports/train")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_params(args.params).train
    classes = read_json(args.processed / "classes.json")

    def load(split: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.load(args.processed / f"{split}_images.npy"),
            np.load(args.processed / f"{split}_labels.npy"),
        )

    started = time.perf_counter()
    # dvcyaml=False: the project's dvc.yaml declares the plots; the pipeline owns experiments.
    with (
        atomic_dir(args.live_dir) as live_tmp,
        Live(dir=str(live_tmp), dvcyaml=False, save_dvc_exp=False) as live,
    ):
        live.log_params(params.model_dump())
        model, history = fit(
            load("train"),
            load("val"),
            len(classes),
            params,
            callbacks=[DVCLiveCallback(live=live)],
        )
    seconds = time.perf_counter() - started
    with atomic_file(args.model) as tmp:
        model.save(tmp)
    write_json(
        train_info(model, classes, params, history, seconds),
        args.model.with_name("train_info.json"),
    )
    print(
        f"train: {params.model} {len(history['loss'])} epochs in {seconds:.1f}s, "
        f"val accuracy {history['val_accuracy'][-1]:.4f} -> {args.model}"
    )


if __name__ == "__main__":
    run_stage("train", main)
