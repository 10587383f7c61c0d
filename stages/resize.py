"""Stage 3, `resize`: decode every valid image, convert its colour mode, resize, stack.

`resize.image_size: auto` and `resize.color_mode: auto` are chosen here from the images
(imgflow/data/input_choice.py); each choice is printed with its reason.

Outputs:
  data/interim/images.npy      uint8, N x H x W x C (C = 3 for RGB, 1 for L)
  data/interim/index.parquet   row -> manifest entry (path, label, split, sha256), in array
                               order, plus is_grayscale (all channels equal)
  data/interim/input.json      the model's input: the resize params with `auto` resolved, the
                               reason for each choice, the decode limit, and whether the source
                               says a mirrored image keeps its class (train reads it)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from imgflow.common.artifacts import (
    atomic_npy,
    read_json,
    sweep_stale_temps,
    write_json,
    write_parquet,
)
from imgflow.common.errors import run_stage
from imgflow.data.input_choice import choose_color_mode, choose_image_size
from imgflow.data.raw_store import iter_contents
from imgflow.data.resizing import grayscale_mask, keep_first_channel, resize_all, valid_rows
from imgflow.params.loader import load_params
from imgflow.params.types import AUTO


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="download's output, e.g. data/raw")
    parser.add_argument(
        "manifest", type=Path, help="validate's table, e.g. data/interim/manifest.parquet"
    )
    parser.add_argument("images", type=Path, help="output array, e.g. data/interim/images.npy")
    parser.add_argument("index", type=Path, help="output table, e.g. data/interim/index.parquet")
    parser.add_argument("input", type=Path, help="output record, e.g. data/interim/input.json")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.images, args.index, args.input)
    all_params = load_params(args.params)
    params = all_params.resize
    manifest = pd.read_parquet(args.manifest)
    index = valid_rows(manifest)
    chosen: dict[str, str] = {}
    if params.image_size == AUTO:
        usable = manifest.loc[manifest["status"] == "ok"]
        size = choose_image_size(usable["width"].tolist(), usable["height"].tolist())
        params = params.resolved(image_size=size.value)  # type: ignore[arg-type]
        chosen["image_size"] = size.why
    # With colour auto, resized as RGB first: only the pixels tell a gray image stored as RGB.
    working = params.resolved(color_mode="RGB")
    started = time.perf_counter()
    paths = index["path"].tolist()
    max_pixels = all_params.validate_.max_image_pixels  # the limit validate accepted
    with atomic_npy(args.images, (len(paths), *working.size, working.channels), "uint8") as out:
        resize_all(iter_contents(args.raw_dir), paths, working, max_pixels, out=out)
        index["is_grayscale"] = grayscale_mask(out)
    if params.color_mode == AUTO:
        color = choose_color_mode(index["is_grayscale"].to_numpy())
        params = params.resolved(color_mode=color.value)  # type: ignore[arg-type]
        chosen["color_mode"] = color.why
        if params.channels == 1:
            keep_first_channel(args.images)
    seconds = time.perf_counter() - started
    write_parquet(index, args.index)
    dataset = read_json(args.raw_dir / "dataset.json")
    record = {
        "resize": params.model_dump(mode="json"),
        "chosen": chosen,
        "max_image_pixels": max_pixels,
        "mirror_safe": dataset.get("mirror_safe"),
    }
    write_json(record, args.input)
    shown = {"image_size": "x".join(map(str, params.size)), "color_mode": params.color_mode}
    for key, why in chosen.items():
        print(f"resize: {key} auto -> {shown[key]}: {why}")
    rate = len(paths) / seconds if seconds > 0 else float("inf")
    shape = (*params.size, params.channels)
    print(f"resize: {len(paths)} images -> {shape} uint8 in {args.images} ({rate:,.0f} images/s)")


if __name__ == "__main__":
    run_stage("resize", main)
