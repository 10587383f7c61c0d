"""Stage 5, `train`: fit a Keras model preset on the train split, validating on val.

Outputs:
  models/model.keras        the best epoch's model by val accuracy (normalisation inside)
  models/history.json       what training produced: per-epoch metrics, best epoch, what stopped
                            it; evaluate reads the overfitting gap from it
  models/train_info.json    provenance of the run: classes, input shape, params, precision,
                            versions, machine and timings
  reports/train/            DVCLive log: per-epoch loss, accuracy and learning rate
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
from stages.errors import run_stage  # noqa: E402
from stages.hardware import Hardware, detect  # noqa: E402
from stages.model_file import save_model  # noqa: E402
from stages.params import TrainParams, load_params  # noqa: E402
from stages.training_loop import Training, fit, make_optimizer  # noqa: E402

__all__ = ["Training", "fit", "main", "make_optimizer", "train_info", "training_record"]


def training_record(training: Training) -> dict[str, Any]:
    """What training produced, and nothing of how long it took: a retrain that reproduces the
    model (same seed, data and CPU kind) reproduces this file byte for byte, so `dvc repro`
    then skips evaluate, which depends on it, instead of rerunning it for new timings."""
    history = training.history
    val_acc = history.get("val_accuracy", [])
    best = int(np.argmax(val_acc)) if val_acc else -1  # first of equals, as the checkpoint
    return {
        "epochs_run": len(history.get("loss", [])),
        "fine_tune_epochs_run": training.fine_tune_epochs,
        "best_epoch": best + 1,
        "best_val_accuracy": val_acc[best] if val_acc else None,
        "train_accuracy_at_best_epoch": history["accuracy"][best] if val_acc else None,
        "stopped_by": training.stopped_by,
        "history": history,
    }


def train_info(
    training: Training,
    classes: list[str],
    params: TrainParams,
    seconds: float,
    hardware: Hardware,
) -> dict[str, Any]:
    """Provenance of the run: what went in, where it ran and how long each epoch took."""
    import tensorflow as tf

    model = training.model
    return {
        "classes": classes,
        "input_shape": list(model.input_shape[1:]),
        "params": params.model_dump(),
        "precision": {"used": training.precision, "why": training.precision_reason},
        "seconds_per_epoch": [round(s, 3) for s in training.seconds_per_epoch],
        "train_seconds": round(seconds, 2),
        "parameters": int(model.count_params()),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "machine": hardware.describe(),
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

    hardware = detect(with_gpus=True)
    started = time.perf_counter()
    # dvcyaml=False: the project's dvc.yaml declares the plots; the pipeline owns experiments.
    with (
        atomic_dir(args.live_dir) as live_tmp,
        Live(dir=str(live_tmp), dvcyaml=False, save_dvc_exp=False) as live,
    ):
        live.log_params(params.model_dump())
        training = fit(
            load("train"),
            load("val"),
            len(classes),
            params,
            callbacks=[DVCLiveCallback(live=live)],
            hardware=hardware,
        )
    seconds = time.perf_counter() - started
    with atomic_file(args.model) as tmp:
        save_model(training.model, tmp)
    record = training_record(training)
    write_json(record, args.model.with_name("history.json"))
    info = train_info(training, classes, params, seconds, hardware)
    write_json(info, args.model.with_name("train_info.json"))
    print(
        f"train: {params.model} ({training.precision_reason}) {record['epochs_run']} epochs in "
        f"{seconds:.1f}s (stopped by {training.stopped_by}), best val accuracy "
        f"{record['best_val_accuracy']:.4f} at epoch {record['best_epoch']} -> {args.model}"
    )


if __name__ == "__main__":
    run_stage("train", main)
