"""Any configured source into download's output folder: the image table and dataset.json."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from imgflow.common.artifacts import atomic_dir, write_json
from imgflow.data.layout import DatasetInfo
from imgflow.data.raw_store import IMAGES_TABLE
from imgflow.params.data import DataParams
from imgflow.sources.builtin import write_cifar, write_digits
from imgflow.sources.cifar import SPECS
from imgflow.sources.trees import write_tree_source


def fetch(params: DataParams, raw_dir: Path) -> DatasetInfo:
    """Write the configured source into `raw_dir` (atomically) and return what it declares."""
    with atomic_dir(raw_dir) as staging:
        table = staging / IMAGES_TABLE
        ignored: list[str] = []
        hierarchy: dict[str, str] = {}
        # A mirrored digit is another symbol (or none); a mirrored CIFAR photo shows the same
        # thing. Of a user's own images nothing is known.
        mirror_safe: bool | None = None
        if params.source == "digits":
            name, entries = "digits", write_digits(table, params.max_per_class, params.seed)
            mirror_safe = False
        elif params.source in SPECS:
            name, entries, hierarchy = write_cifar(params, table)
            mirror_safe = True
        else:
            name, entries, ignored = write_tree_source(params, table)
        info = DatasetInfo.from_entries(
            name, params.source, entries, ignored, hierarchy, mirror_safe
        )
        write_json(asdict(info), staging / "dataset.json")
    return info
