"""Benchmark: how much accuracy does JPEG loss cost the `fast` preset on CIFAR-10?

    python bench/jpeg_quality.py [--qualities 0 50 30] [--images 20000] [--epochs 4] [--seed 42]
                                 [--data bench/work/train-fast/data/processed]

The shared archive's images are already JPEGs (quality 75, 4:2:0 chroma), so the original
CIFAR-10 is not here to compare with. This measures the slope instead: the train and test images
are re-encoded at lower qualities (4:2:0, Pillow) and `fast` is trained on each copy with the same
seed, images and epochs. Quality 0 means the archive's pixels as they are. Accuracy per quality
step down hints at what the archive's own compression costs against the lossless original.

Needs the processed arrays of a `bench/train.py --preset fast` run (its bench/work copy). Results:
bench/results/jpeg-quality-<UTC timestamp>.json, with the machine and library versions.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import WORK, machine, versions, write_result

from imgflow.params.train import TrainParams
from imgflow.training.batches import batches
from imgflow.training.loop import fit

# The test images' first 1,000 only pick the best epoch (the one-cycle schedule makes that the
# last one); accuracy is reported on all 10,000.
VAL_IMAGES = 1000
TEST_BATCH = 500


def reencode(images: np.ndarray, quality: int) -> np.ndarray:
    """Each uint8 RGB image through a JPEG at `quality` with 4:2:0 chroma subsampling."""
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality, subsampling=2)
        out[i] = np.asarray(Image.open(buffer).convert("RGB"))
    return out


def accuracy_after_training(
    train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], params: TrainParams
) -> float:
    (x_test, y_test) = test
    trained = fit(train, (x_test[:VAL_IMAGES], y_test[:VAL_IMAGES]), 10, params)
    probabilities = trained.model.predict(batches(x_test, TEST_BATCH), verbose=0)
    predicted = probabilities.argmax(axis=1)
    return float(np.mean(predicted == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qualities", type=int, nargs="+", default=[0, 50, 30])
    parser.add_argument("--images", type=int, default=20000, help="training images used")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=WORK / "train-fast/data/processed")
    args = parser.parse_args()
    if not (args.data / "train_images.npy").exists():
        sys.exit(f"{args.data}: no train_images.npy; run bench/train.py --preset fast first")
    x = np.load(args.data / "train_images.npy")
    y = np.load(args.data / "train_labels.npy")
    chosen = np.random.default_rng(args.seed).permutation(len(x))[: args.images]
    x, y = x[chosen], y[chosen]
    x_test = np.load(args.data / "test_images.npy")
    y_test = np.load(args.data / "test_labels.npy")
    params = TrainParams.model_validate({"model": "fast", "epochs": args.epochs, "seed": args.seed})
    runs = []
    for quality in args.qualities:
        started = time.perf_counter()
        train_x, test_x = (reencode(a, quality) if quality else a for a in (x, x_test))
        accuracy = accuracy_after_training((train_x, y), (test_x, y_test), params)
        seconds = round(time.perf_counter() - started, 1)
        runs.append(
            {"quality": quality or "archive", "test_accuracy": accuracy, "seconds": seconds}
        )
        print(f"quality {quality or 'archive (75)'}: test accuracy {accuracy:.4f} ({seconds}s)")
    result = {
        "benchmark": "jpeg-quality",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "images": len(x),
        "epochs": args.epochs,
        "seed": args.seed,
        "runs": runs,
        "machine": machine(),
        "versions": versions(),
    }
    out = write_result("jpeg-quality", result)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
