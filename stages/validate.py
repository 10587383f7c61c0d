"""Stage 2, `validate`: look at every raw file, build the manifest, check it with GX.

Outputs:
  data/interim/manifest.parquet   one row per file: path, label, split, width, height, mode,
                                  bytes, sha256, status ('ok' or 'unreadable'), error
  reports/validation.json         every check with its outcome and the files or classes that failed

A failed check stops the pipeline (exit status 1) with a message naming the class, file or count.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from stages.artifacts import read_json, write_json, write_parquet
from stages.download import ALL_SPLITS, is_junk, parse_layout
from stages.errors import StageError, run_stage
from stages.parallel import map_files
from stages.params import ValidateParams, load_params

MANIFEST_COLUMNS = [
    "path",
    "label",
    "split",
    "width",
    "height",
    "mode",
    "bytes",
    "sha256",
    "status",
    "error",
]


class ValidationFailed(StageError):
    """One or more expectations failed; the message lists each failure."""


def inspect_image(path: Path) -> dict[str, Any]:
    """Hash a file and fully decode it (a header-only read misses truncated files)."""
    data = path.read_bytes()
    row: dict[str, Any] = {
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "width": 0,
        "height": 0,
        "mode": "",
        "status": "ok",
        "error": "",
    }
    try:
        with Image.open(path) as image:
            image.load()
            row.update(width=image.width, height=image.height, mode=image.mode)
    except Exception as exc:  # Pillow raises many types for bad files; each is a finding
        row.update(status="unreadable", error=f"{type(exc).__name__}: {exc}")
    return row


def build_manifest(images_dir: Path) -> pd.DataFrame:
    """One row per non-junk file under `images_dir`, in path order."""
    relpaths = sorted(
        p.relative_to(images_dir).as_posix() for p in images_dir.rglob("*") if p.is_file()
    )
    entries = parse_layout([p for p in relpaths if not is_junk(p)])
    rows = map_files(inspect_image, [images_dir / entry.relpath for entry in entries])
    table = pd.DataFrame(rows)
    table.insert(0, "path", [e.relpath for e in entries])
    table.insert(1, "label", [e.label for e in entries])
    table.insert(2, "split", [e.split for e in entries])
    return table[MANIFEST_COLUMNS]


def class_counts(manifest: pd.DataFrame, declared: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Readable images per (split, class) beside the count the dataset declares."""
    readable = manifest[manifest["status"] == "ok"]
    observed = readable.groupby([readable["split"].fillna(ALL_SPLITS), "label"]).size()
    rows = []
    keys = {(s, c) for s, per_class in declared.items() for c in per_class} | set(observed.index)
    for split, label in sorted(keys):
        rows.append(
            {
                "split": split,
                "label": label,
                "observed": int(observed.get((split, label), 0)),
                "declared": int(declared.get(split, {}).get(label, 0)),
            }
        )
    return pd.DataFrame(rows, columns=["split", "label", "observed", "declared"])


def cross_class_duplicates(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per (content hash, class); a hash seen twice here sits under two classes."""
    readable = manifest[manifest["status"] == "ok"]
    return readable.drop_duplicates(["sha256", "label"])[["sha256", "label", "path"]]


@dataclass(frozen=True)
class Check:
    """One expectation over one table, and how to say what failed in a person's words."""

    name: str
    table: str
    expectation: Any  # a gx.expectations.Expectation
    index_columns: list[str]
    describe: Callable[[dict[str, Any]], str]


def build_checks(classes: list[str], params: ValidateParams) -> list[Check]:
    import great_expectations as gx

    def count_message(row: dict[str, Any]) -> str:
        return f"class {row['label']!r} (split {row['split']}): {row['observed']} readable images"

    return [
        Check(
            "readable",
            "manifest",
            gx.expectations.ExpectColumnValuesToBeInSet(column="status", value_set=["ok"]),
            ["path", "error"],
            lambda r: f"unreadable file {r['path']} ({r['error']})",
        ),
        Check(
            "label_in_classes",
            "manifest",
            gx.expectations.ExpectColumnValuesToBeInSet(column="label", value_set=classes),
            ["path", "label"],
            lambda r: f"{r['path']}: label {r['label']!r} is not a known class",
        ),
        Check(
            "count_matches_declared",
            "class_counts",
            gx.expectations.ExpectColumnPairValuesToBeEqual(
                column_A="observed", column_B="declared"
            ),
            ["split", "label", "observed", "declared"],
            lambda r: f"{count_message(r)}, the dataset declares {r['declared']}",
        ),
        Check(
            "min_per_class",
            "class_counts",
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="observed", min_value=params.min_per_class
            ),
            ["split", "label", "observed"],
            lambda r: f"{count_message(r)}, below validate.min_per_class={params.min_per_class}",
        ),
        Check(
            "no_cross_class_duplicates",
            "duplicates",
            gx.expectations.ExpectColumnValuesToBeUnique(column="sha256"),
            ["sha256", "label", "path"],
            lambda r: (
                f"{r['path']}: same content (sha256 {r['sha256'][:12]}) also under another class"
            ),
        ),
    ]


def run_checks(tables: dict[str, pd.DataFrame], checks: list[Check]) -> list[dict[str, Any]]:
    """Validate each table with Great Expectations (ephemeral context, no project folder)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("imgflow")
    outcomes = []
    for check in checks:
        table = tables[check.table]
        asset = source.add_dataframe_asset(f"{check.name}_{check.table}")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": table}
        )
        result = batch.validate(
            check.expectation,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": check.index_columns,
            },
        )
        failed_rows = [
            {col: _plain(row.get(col)) for col in check.index_columns}
            for row in (result.result.get("unexpected_index_list") or [])
        ]
        outcomes.append(
            {
                "check": check.name,
                "table": check.table,
                "expectation": check.expectation.expectation_type,
                "success": bool(result.success),
                "rows_checked": len(table),
                "failures": [check.describe(row) for row in failed_rows],
                "failed_rows": failed_rows,
            }
        )
    return outcomes


def _plain(value: Any) -> Any:
    """JSON-safe scalars (numpy ints from pandas rows are not)."""
    return value.item() if hasattr(value, "item") else value


def validate(
    manifest: pd.DataFrame, dataset: dict[str, Any], params: ValidateParams
) -> dict[str, Any]:
    """Run every check; return the report (its `success` says whether all passed)."""
    tables = {
        "manifest": manifest,
        "class_counts": class_counts(manifest, dataset["declared_counts"]),
        "duplicates": cross_class_duplicates(manifest),
    }
    outcomes = run_checks(tables, build_checks(dataset["classes"], params))
    return {
        "success": all(o["success"] for o in outcomes),
        "dataset": dataset["name"],
        "images": len(manifest),
        "readable": int((manifest["status"] == "ok").sum()),
        "classes": dataset["classes"],
        "class_counts": tables["class_counts"].to_dict(orient="records"),
        "checks": outcomes,
    }


def failure_message(report: dict[str, Any], limit: int = 20) -> str:
    failures = [f"[{o['check']}] {msg}" for o in report["checks"] for msg in o["failures"]]
    failed = [o["check"] for o in report["checks"] if not o["success"]]
    shown = "\n  ".join(failures[:limit])
    more = f"\n  ... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"validation failed ({', '.join(failed)}):\n  {shown}{more}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="download's output, e.g. data/raw")
    parser.add_argument(
        "manifest", type=Path, help="output table, e.g. data/interim/manifest.parquet"
    )
    parser.add_argument("report", type=Path, help="output report, e.g. reports/validation.json")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_params(args.params).validate_
    dataset = read_json(args.raw_dir / "dataset.json")
    manifest = build_manifest(args.raw_dir / "images")
    report = validate(manifest, dataset, params)
    write_parquet(manifest, args.manifest)
    write_json(report, args.report)
    if not report["success"]:
        raise ValidationFailed(f"{failure_message(report)}\n  (full report: {args.report})")
    print(
        f"validate: {report['readable']}/{report['images']} images "
        f"passed {len(report['checks'])} checks"
    )


if __name__ == "__main__":
    run_stage("validate", main)
