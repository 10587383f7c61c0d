"""What a training run produced and how: history.json and train_info.json."""

from __future__ import annotations

import platform
from typing import Any

import keras
import numpy as np

from imgflow.common.hardware import Hardware
from imgflow.training.loop import Training


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
    model_input: dict[str, Any],
    seconds: float,
    hardware: Hardware,
) -> dict[str, Any]:
    """Provenance of the run: what went in (the input as resize chose it and the params as
    planned for the data, each decided key with its reason), where it ran and how long each
    epoch took."""
    import tensorflow as tf

    model = training.model
    return {
        "classes": classes,
        "input_shape": list(model.input_shape[1:]),
        "input": {key: model_input[key] for key in ("resize", "chosen")},
        "chosen": training.chosen,
        "params": training.params.model_dump(),
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
