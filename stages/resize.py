"""Stage 3, `resize`: decode every valid image, convert its colour mode, resize, stack.

Outputs:
  data/interim/images.npy      uint8, N x H x W x C (C = 3 for RGB, 1 for L)
  data/interim/index.parquet   row -> manifest entry (path, label, split, sha256), in array
                               order, plus is_grayscale (all channels equal)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from imgflow.common.artifacts import atomic_npy, sweep_stale_temps, write_parquet
from imgflow.common.errors import run_stage
from imgflow.data.raw_store import iter_contents
from imgflow.data.resizing import grayscale_mask, resize_all, valid_rows
from imgflow.params.loader import load_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="download's output, e.g. data/raw")
    parser.add_argument(
        "manifest", type=Path, help="validate's table, e.g. data/interim/manifest.parquet"
    )
    parser.add_argument("images", type=Path, help="output array, e.g. data/interim/images.npy")
    parser.add_argument("index", type=Path, help="output table, e.g. data/interim/index.parquet")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.images, args.index)
    all_params = load_params(args.params)
    params = all_params.resize
    index = valid_rows(pd.read_parquet(args.manifest))
    started = time.perf_counter()
    paths = index["path"].tolist()
    shape = (len(paths), *params.image_size, params.channels)
    with atomic_npy(args.images, shape, "uint8") as images:
        resize_all(
            iter_contents(args.raw_dir),
            paths,
            params,
            max_pixels=all_params.validate_.max_image_pixels,  # the limit validate accepted
            out=images,
        )
        seconds = time.perf_counter() - started
        index["is_grayscale"] = grayscale_mask(images)
    write_parquet(index, args.index)
    rate = len(images) / seconds if seconds > 0 else float("inf")
    print(
        f"resize: {len(images)} images -> {images.shape[1:]} uint8 in {args.images} "
        f"({rate:,.0f} images/s)"
    )


if __name__ == "__main__":
    run_stage("resize", main)
