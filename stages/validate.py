"""Stage 2, `validate`: look at every raw file, build the manifest, check it with GX.

Outputs:
  data/interim/manifest.parquet   one row per file: path, label, split, format, width, height,
                                  mode, bytes, sha256, status ('ok' or 'quarantined'), reason,
                                  error; later stages use only the 'ok' rows
  data/interim/quarantine.parquet every quarantined file: path, label, split, reason, error
  reports/validation.json         every check with its outcome, the quarantine list, class counts
  reports/validation/             the same report as a page: index.html, image_sizes.png/.csv
  reports/data_stats.json         statistics of the usable images (a DVC metrics file)

The report and its page are committed to git, so each per-file list in them (the quarantine
list, each check's failures, the ignored files) holds at most 100 rows and counts the rest;
quarantine.parquet, tracked by DVC, holds the whole quarantine list.

Each check has a policy: a failure either stops the pipeline (exit status 1, with a message
naming the class, file or count) or quarantines the files at fault, which are listed with their
reason and left out of later stages. data/raw is never modified.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imgflow.common.artifacts import sweep_stale_temps, write_json, write_parquet
from imgflow.common.errors import run_stage
from imgflow.params.loader import load_params
from imgflow.validation.checks import failure_message
from imgflow.validation.run import ValidationFailed, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="download's output, e.g. data/raw")
    parser.add_argument(
        "manifest", type=Path, help="output table, e.g. data/interim/manifest.parquet"
    )
    parser.add_argument("report", type=Path, help="output report, e.g. reports/validation.json")
    parser.add_argument(
        "--html-dir", type=Path, help="report page folder (default: <report dir>/validation)"
    )
    parser.add_argument(
        "--stats", type=Path, help="statistics file (default: <report dir>/data_stats.json)"
    )
    parser.add_argument(
        "--quarantine",
        type=Path,
        help="every quarantined file (default: <manifest dir>/quarantine.parquet)",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    quarantine = args.quarantine or args.manifest.parent / "quarantine.parquet"
    stats = args.stats or args.report.parent / "data_stats.json"
    html_dir = args.html_dir or args.report.parent / "validation"
    # A killed run's temp files: DVC does not know them, so nothing else removes them.
    sweep_stale_temps(args.manifest, quarantine, args.report, stats, html_dir)
    params = load_params(args.params).validate_
    outcome = run(args.raw_dir, params)
    report = outcome.report | {"quarantine_file": str(quarantine)}

    from imgflow.validation.report import write_report_dir  # matplotlib: imported only here

    write_parquet(outcome.manifest, args.manifest)
    write_parquet(outcome.quarantine, quarantine)
    write_json(report, args.report)
    write_json(outcome.stats, stats)
    write_report_dir(report, html_dir)
    if not report["success"]:
        raise ValidationFailed(f"{failure_message(report)}\n  (full report: {args.report})")
    print(
        f"validate: {report['usable']}/{report['images']} images usable, "
        f"{report['quarantined']} quarantined, {len(report['checks'])} checks passed or handled"
    )


if __name__ == "__main__":
    run_stage("validate", main)
