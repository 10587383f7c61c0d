"""Stage 5, `train`: fit a Keras model preset on the train split, validating on val.

Outputs:
  models/model.keras        the best epoch's model by val accuracy (normalisation inside), of
                            Keras' own classes, carrying its class names and preprocessing
  models/history.json       what training produced: per-epoch metrics, best epoch, what stopped
                            it; evaluate reads the overfitting gap from it
  models/train_info.json    provenance of the run: classes, input shape, params, precision,
                            versions, machine and timings
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
from imgflow.training.callbacks import live_callback
from imgflow.training.loop import fit
from imgflow.training.records import train_info, training_record


def main(argv: list[str] | None = None) -> None:
    from dvclive import Live

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processed", type=Path, help="split's folder, e.g. data/processed")
    parser.add_argument("model", type=Path, help="output model, e.g. models/model.keras")
    parser.add_argument("live_dir", type=Path, help="DVCLive log folder, e.g. reports/train")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    history = args.model.with_name("history.json")
    info_path = args.model.with_name("train_info.json")
    sweep_stale_temps(args.model, history, info_path, args.live_dir)
    all_params = load_params(args.params)
    params = all_params.train
    classes = read_json(args.processed / "classes.json")
    # What predict needs to prepare an image file as these images were: saved in the model.
    metadata = ModelMetadata(
        tuple(classes), all_params.resize, all_params.validate_.max_image_pixels
    )

    def load(split: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.load(args.processed / f"{split}_images.npy"),
            np.load(args.processed / f"{split}_labels.npy"),
        )

    check_shape(args.processed / "train_images.npy", metadata)
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
            callbacks=[live_callback(live)],
            hardware=hardware,
        )
    seconds = time.perf_counter() - started
    with atomic_file(args.model) as tmp:
        save_model(training.model, tmp, metadata)
    record = training_record(training)
    write_json(record, history)
    info = train_info(training, classes, params, seconds, hardware)
    write_json(info, info_path)
    print(
        f"train: {params.model} ({training.precision_reason}) {record['epochs_run']} epochs in "
        f"{seconds:.1f}s (stopped by {training.stopped_by}), best val accuracy "
        f"{record['best_val_accuracy']:.4f} at epoch {record['best_epoch']} -> {args.model}"
    )


def check_shape(images: Path, metadata: ModelMetadata) -> None:
    """The images must have the shape the resize params give: the model records those params."""
    shape = tuple(np.load(images, mmap_mode="r").shape[1:])  # the header only
    if shape != metadata.input_shape:
        raise StageError(
            f"{images}: images are {'x'.join(map(str, shape))} (height x width x channels) but "
            f"params resize.image_size and resize.color_mode give "
            f"{'x'.join(map(str, metadata.input_shape))}; rerun resize and split (dvc repro)"
        )


if __name__ == "__main__":
    run_stage("train", main)
