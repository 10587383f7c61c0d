"""Tiny inputs for the plot stage and its page (tests/stages/test_plot.py, the page tests):
split's folder, a DVCLive log, evaluate's predictions and reports, download's data/raw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

PARAMS_YAML = Path(__file__).parents[1] / "params.yaml"
CLASSES = ["ant", "bee", "cat"]


def predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": ["a", "b", "c", "d"],
            "true_label": ["ant", "bee", "cat", "cat"],
            "predicted_label": ["ant", "ant", "ant", "cat"],
            "probability": [0.9, 0.55, 0.8, 0.7],
            "true_index": [0, 1, 2, 2],
            "predicted_index": [0, 0, 0, 2],
        }
    )


def write_inputs(tmp_path: Path, test_images: int = 4) -> list[str]:
    """split's folder, a 2-epoch DVCLive log and evaluate's predictions; main's arguments."""
    processed = tmp_path / "processed"
    processed.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", test_images)):
        np.save(processed / f"{split}_images.npy", rng.integers(0, 255, (n, 8, 8, 3), np.uint8))
    np.save(processed / "train_labels.npy", np.array([0, 1, 2, 0, 1, 2]))
    (processed / "classes.json").write_text(json.dumps(CLASSES))
    pd.DataFrame(
        {
            "row": range(10),
            "path": list("abcdefghij"),
            "label": ["ant", "bee", "cat"] * 3 + ["ant"],
            "label_index": [0, 1, 2] * 3 + [0],
            "split": ["train"] * 6 + ["test"] * 4,
        }
    ).to_parquet(processed / "splits.parquet")
    live = tmp_path / "train"
    for phase in ("train", "eval"):
        for metric in ("accuracy", "loss"):
            path = live / "plots" / "metrics" / phase / f"{metric}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"step\t{metric}\n0\t0.5\n1\t0.7\n")
    predictions().to_parquet(tmp_path / "predictions.parquet")
    out = tmp_path / "plots"
    return [str(processed), str(live), str(tmp_path / "predictions.parquet"), str(out)]


def validation() -> dict:
    """validate's report, shortened to what the page reads."""
    return {
        "success": True,
        "dataset": "tiny",
        "images": 10,
        "readable": 10,
        "usable": 10,
        "quarantined": 0,
        "checks": [
            {
                "check": "readable",
                "success": True,
                "action": "quarantine",
                "blocking": False,
                "rows_checked": 10,
                "failures": [],
                "failures_more": 0,
            }
        ],
        "quarantine": [],
    }


def metrics() -> dict:
    return {
        "accuracy": 0.5,
        "loss": 1.2,
        "test_images": 4,
        "class_grades": {"acceptable": 1, "needs_work": 0, "failing": 2, "untested": 0},
        "per_class": {
            name: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1} for name in CLASSES
        },
    }


def write_report_inputs(reports: Path, raw: Path) -> None:
    """What the page reads besides the stage's own inputs: validate's and evaluate's reports in
    `reports` (where the page goes) and download's dataset.json and images.parquet in `raw`."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "validation.json").write_text(json.dumps(validation()))
    (reports / "data_stats.json").write_text(
        json.dumps({"images": 10, "classes": 3, "width": {"min": 8, "median": 8.0, "max": 8}})
    )
    (reports / "metrics.json").write_text(json.dumps(metrics()))
    (reports / "classification_report.txt").write_text("  precision  recall\nant  0.5  0.5\n")
    (reports / "confused_pairs.csv").write_text(
        "class_a,class_b,a_predicted_as_b,b_predicted_as_a,total\nant,cat,0,1,1\nant,bee,0,1,1\n"
    )
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "dataset.json").write_text(json.dumps({"name": "tiny", "source": "/data/tiny"}))
    pd.DataFrame({"path": ["a"], "bytes": [b"\x00\x01"]}).to_parquet(raw / "images.parquet")


def plot_arguments(root: Path) -> list[str]:
    """main()'s arguments for a full run with the page: every input written under `root`, the
    page at root/report.html beside the reports it reads."""
    arguments = write_inputs(root)
    write_report_inputs(root, root / "raw")
    return [
        *arguments,
        "--params",
        str(PARAMS_YAML),
        "--report",
        str(root / "report.html"),
        "--raw",
        str(root / "raw"),
    ]
