"""Stage 5, `train`: fit a Keras model preset on the train split, validating on val.

Outputs:
  models/model.keras        the best epoch's model by val accuracy (normalisation inside), of
                            Keras' own classes, carrying its class names and preprocessing
  models/history.json       what training produced: per-epoch metrics, best epoch, what stopped
                            it; evaluate reads the overfitting gap from it
  models/train_info.json    provenance of the run: classes, the input and why it is so, the
                            params as planned for the data (and why), precision, versions,
                            machine and timings
  reports/train/            DVCLive log: per-epoch loss, accuracy and learning rate
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

import numpy as np

from imgflow.common.artifacts import (
    atomic_dir,
    atomic_file,
    read_json,
    sweep_stale_temps,
    write_json,
)
from imgflow.common.errors import StageError, run_stage
from imgflow.common.hardware import detect
from imgflow.models.metadata import ModelMetadata
from imgflow.models.saving import save_model
from imgflow.params.loader import load_params
from imgflow.params.resize import ResizeParams
from imgflow.training.callbacks import live_callback
from imgflow.training.loop import fit
from imgflow.training.plan import plan_training
from imgflow.training.records import train_info, training_record


def main(argv: list[str] | None = None) -> None:
    from dvclive import Live

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "processed",
        type=Path,
        help="split's folder, e.g. data/processed (arrays, classes.json, input.json)",
    )
    parser.add_argument("model", type=Path, help="output model, e.g. models/model.keras")
    parser.add_argument("live_dir", type=Path, help="DVCLive log folder, e.g. reports/train")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    history = args.model.with_name("history.json")
    info_path = args.model.with_name("train_info.json")
    sweep_stale_temps(args.model, history, info_path, args.live_dir)
    params = load_params(args.params).train
    classes = read_json(args.processed / "classes.json")
    model_input = read_input(args.processed / "input.json")
    # What predict needs to prepare an image file as these images were: saved in the model.
    metadata = ModelMetadata(
        tuple(classes),
        ResizeParams.model_validate(model_input["resize"]),
        model_input["max_image_pixels"],
    )

    def load(split: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.load(args.processed / f"{split}_images.npy"),
            np.load(args.processed / f"{split}_labels.npy"),
        )

    check_shape(args.processed / "train_images.npy", metadata)
    train, val = load("train"), load("val")
    mirror_safe = model_input.get("mirror_safe")
    plan = plan_training(params, len(train[0]), min(metadata.input_shape[:2]), mirror_safe)
    for key, why in {**model_input["chosen"], **plan.chosen}.items():
        print(f"train: {key}: {why}")
    hardware = detect(with_gpus=True)
    started = time.perf_counter()
    # dvcyaml=False: the project's dvc.yaml declares the plots; the pipeline owns experiments.
    with (
        atomic_dir(args.live_dir) as live_tmp,
        Live(dir=str(live_tmp), dvcyaml=False, save_dvc_exp=False) as live,
    ):
        live.log_params(plan.params.model_dump())
        training = fit(
            train,
            val,
            len(classes),
            params,  # fit plans it as above, and keeps what the plan chose
            callbacks=[live_callback(live)],
            hardware=hardware,
            mirror_safe=mirror_safe,
        )
    seconds = time.perf_counter() - started
    with atomic_file(args.model) as tmp:
        save_model(training.model, tmp, metadata)
    record = training_record(training)
    write_json(record, history)
    info = train_info(training, classes, model_input, seconds, hardware)
    write_json(info, info_path)
    print(
        f"train: {params.model} ({training.precision_reason}) {record['epochs_run']} epochs in "
        f"{seconds:.1f}s (stopped by {training.stopped_by}), best val accuracy "
        f"{record['best_val_accuracy']:.4f} at epoch {record['best_epoch']} -> {args.model}"
    )


def read_input(path: Path) -> dict:
    """resize's record of the model input, as split passed it on."""
    if not path.is_file():
        raise StageError(f"{path}: missing; it is written by resize and split (dvc repro split)")
    record = read_json(path)
    if not isinstance(record, dict) or not {"resize", "chosen", "max_image_pixels"} <= set(record):
        raise StageError(f"{path}: not resize's input record; rerun resize and split")
    return record


def check_shape(images: Path, metadata: ModelMetadata) -> None:
    """The images must have the shape the resize params give: the model records those params."""
    shape = tuple(np.load(images, mmap_mode="r").shape[1:])  # the header only
    if shape != metadata.input_shape:
        raise StageError(
            f"{images}: images are {'x'.join(map(str, shape))} (height x width x channels) but "
            f"input.json beside them says {'x'.join(map(str, metadata.input_shape))}; rerun "
            f"resize and split (dvc repro)"
        )


if __name__ == "__main__":
    run_stage("train", main)
