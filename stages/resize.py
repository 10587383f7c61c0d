"""Stage 3, `resize`: decode every valid image, convert its colour mode, resize, stack.

Outputs:
  data/interim/images.npy      uint8, N x H x W x C (C = 3 for RGB, 1 for L)
  data/interim/index.parquet   row -> manifest entry (path, label, split), in array order
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from stages.artifacts import write_npy, write_parquet
from stages.errors import StageError, run_stage
from stages.parallel import map_files
from stages.params import ResizeParams, load_params

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


def to_array(image: Image.Image, params: ResizeParams) -> np.ndarray:
    """One decoded image as uint8 H x W x C in the configured mode and size."""
    height, width = params.image_size
    converted = image.convert(params.color_mode)
    if converted.size != (width, height):
        converted = converted.resize((width, height), RESAMPLE[params.resample])
    array = np.asarray(converted, dtype=np.uint8)
    return array.reshape(height, width, params.channels)


def load_and_resize(path: Path, params: ResizeParams) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return to_array(image, params)
    except OSError as exc:
        raise StageError(f"{path}: cannot decode ({exc}); was it changed after validate?") from exc


def resize_all(paths: list[Path], params: ResizeParams) -> np.ndarray:
    """Stack of every image, in the order given."""
    height, width = params.image_size
    if not paths:
        return np.zeros((0, height, width, params.channels), dtype=np.uint8)
    return np.stack(map_files(partial(load_and_resize, params=params), paths))


def valid_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest rows validate accepted, as the index of the image array."""
    index = manifest.loc[manifest["status"] == "ok", ["path", "label", "split"]]
    return index.reset_index(drop=True).rename_axis("row").reset_index()


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
    params = load_params(args.params).resize
    index = valid_rows(pd.read_parquet(args.manifest))
    images = resize_all([args.raw_dir / "images" / p for p in index["path"]], params)
    write_npy(images, args.images)
    write_parquet(index, args.index)
    print(f"resize: {len(images)} images -> {images.shape[1:]} uint8 in {args.images}")


if __name__ == "__main__":
    run_stage("resize", main)
