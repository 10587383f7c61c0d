"""Scan, check and describe download's output: what the validate stage writes."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from imgflow.common.artifacts import read_json
from imgflow.common.errors import StageError
from imgflow.common.parallel import PARALLEL_FROM
from imgflow.common.warm_process import WarmProcess
from imgflow.data.stats import dataset_stats, size_histogram
from imgflow.params.validate import ValidateParams
from imgflow.validation.checks import LIST_LIMIT, check_tables, quarantine_table, validate
from imgflow.validation.scan import OK, scan


class ValidationFailed(StageError):
    """One or more blocking checks failed; the message lists each failure."""


# Great Expectations is slow to import, longer than the scan even on a dataset of CIFAR-10's
# size, so it is imported, and the checks run, in a child process started before the scan
# (common/warm_process.py, docs/decisions/gx-child-process.md). Below PARALLEL_FROM files the
# scan is too short to gain from it, and the checks run here.
GX_MODULES = ("great_expectations",)


def preload_report_module() -> None:
    """Import the report page's module (matplotlib) in a thread while the pool decodes. Started
    only once the workers are forked (parallel.map_chunks)."""
    threading.Thread(
        target=importlib.import_module, args=("imgflow.validation.report",), daemon=True
    ).start()


@dataclass(frozen=True)
class Outcome:
    manifest: pd.DataFrame
    report: dict[str, Any]  # what validation.json and the HTML page both show
    stats: dict[str, Any]  # data_stats.json
    quarantine: pd.DataFrame  # every quarantined file; the report lists only the first ones


def run(raw_dir: Path, params: ValidateParams) -> Outcome:
    """Scan, validate and describe `raw_dir` (download's output); no file is written."""
    dataset = read_json(raw_dir / "dataset.json")
    files = sum(sum(counts.values()) for counts in dataset["declared_counts"].values())
    if files < PARALLEL_FROM:
        found = scan(raw_dir, params.max_image_pixels)
        manifest, report = validate(found.manifest, dataset, params)
    else:
        with WarmProcess(GX_MODULES) as gx_process:
            found = scan(raw_dir, params.max_image_pixels, after_start=preload_report_module)
            checker = partial(gx_process.call, check_tables)
            manifest, report = validate(found.manifest, dataset, params, checker)
    usable = (manifest["status"] == OK).to_numpy()
    kept = manifest[usable]
    stats = dataset_stats(kept, found.sums[usable])
    ignored = dataset.get("ignored", [])
    report["ignored_files"] = ignored[:LIST_LIMIT]  # all of them stay in dataset.json
    report["ignored_more"] = max(len(ignored) - LIST_LIMIT, 0)
    report["image_sizes"] = size_histogram(kept["width"], kept["height"])
    report["stats"] = stats
    return Outcome(manifest, report, stats, quarantine_table(manifest))
