"""Helpers shared by the tests of imgflow/evaluation and of the evaluate stage
(tests/stages/test_evaluate.py): hand-checkable probabilities, a splits table and history.json."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imgflow.evaluation.report import overfitting

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
