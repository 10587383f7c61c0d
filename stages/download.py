"""Stage 1, `download`: fetch the raw dataset into `data/raw/`.

Output (immutable afterwards):
  data/raw/images.parquet   every image file's bytes, exactly as the source has them, under its
                            path `[<split>/]<class>/<file>` (imgflow/data/raw_store.py)
  data/raw/dataset.json     name, classes, splits, the image count the source declares per split
                            and class, and the files left out: junk (.DS_Store, ...) by name, and
                            set-aside files (too large, links, names not UTF-8) with why

Sources (`data.source`):
  digits            scikit-learn's bundled set, written out as PNGs (offline, the default)
  cifar10/cifar100  the publisher's python archives, checksum-verified; the publisher's
                    train/test split is kept (train/<class>/..., test/<class>/...)
  a folder, archive (.tar.gz/.tgz/.tar/.zip) or http(s)/file URL of one, in `<class>/<image>`
                    or `<split>/<class>/<image>` layout; or, with `data.labels_file`, images
                    plus a labels file (imgflow/sources/labels_file.py), stored as <class>/<file>
Downloads are cached in `data.cache_dir` (imgflow/sources/fetching.py), outside data/raw, which
DVC deletes before each run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imgflow.common.artifacts import sweep_stale_temps
from imgflow.common.errors import run_stage
from imgflow.params.loader import load_params
from imgflow.sources.ingest import fetch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="output folder, e.g. data/raw")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.raw_dir)
    params = load_params(args.params).data
    info = fetch(params, args.raw_dir)
    total = sum(sum(c.values()) for c in info.declared_counts.values())
    print(
        f"download: {total} images in {len(info.classes)} classes "
        f"from {info.source!r} -> {args.raw_dir}"
    )


if __name__ == "__main__":
    run_stage("download", main)
