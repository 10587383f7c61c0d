"""The quarantine policies and the Great Expectations checks over the manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from imgflow.common.artifacts import json_safe
from imgflow.data.imaging import DECODE_REASONS
from imgflow.data.layout import ALL_SPLITS
from imgflow.params.validate import ValidateParams
from imgflow.validation.scan import OK, QUARANTINED

QUARANTINE_COLUMNS = ["path", "label", "split", "reason", "error"]

# Rows of each per-file list in validation.json and its page, both committed to git: a source of
# 200,000 files made them tens of MB. The quarantine list is kept whole in a DVC-tracked table.
LIST_LIMIT = 100


SPLIT_ORDER = ("train", "val", "test")  # for a leak, copies in a later split are quarantined


def readable(manifest: pd.DataFrame) -> pd.Series:
    return ~manifest["reason"].isin(DECODE_REASONS)


def label_conflicts(manifest: pd.DataFrame) -> pd.Series:
    """Readable rows whose content (sha256) also sits under another class: every copy, since
    nothing says which label is right. Copies within one class are harmless and not flagged."""
    ok = readable(manifest)
    labels = manifest[ok].groupby("sha256")["label"].nunique()
    return ok & manifest["sha256"].isin(labels.index[labels > 1])


def leaks(manifest: pd.DataFrame) -> pd.Series:
    """Readable rows whose content also sits in an earlier split (train < val < test): for a
    train/test pair that is the test-side copy, so training data is kept and the test set clean."""
    ok = readable(manifest) & manifest["split"].notna()
    rank = manifest["split"].map({s: i for i, s in enumerate(SPLIT_ORDER)})
    first = rank[ok].groupby(manifest.loc[ok, "sha256"]).min()
    return ok & (rank > manifest["sha256"].map(first))


def apply_policies(manifest: pd.DataFrame, params: ValidateParams) -> pd.DataFrame:
    """The manifest with label conflicts and leaks quarantined where their policy is `drop`.

    Decode failures are already quarantined by `scan` (with on_corrupt=fail the stage also stops).
    """
    table = manifest.copy()
    for policy, rows, reason in (
        (params.on_leak, leaks(manifest), "leak"),
        (params.on_label_conflict, label_conflicts(manifest), "label_conflict"),  # wins over leak
    ):
        if policy == "drop":
            table.loc[rows, ["status", "reason"]] = [QUARANTINED, reason]
            table.loc[rows, "error"] = f"quarantined by validate.on_{reason}=drop"
    return table


def class_counts(manifest: pd.DataFrame, declared: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Per (split, class): declared, found, readable, quarantined and usable (status ok) files.

    The count check compares `declared` with `found`, every file present: it asks whether the
    source delivered what it declares. A corrupt or dropped file was delivered; its own check
    and policy judge it, so quarantining it does not also fail the count.
    """
    splits = manifest["split"].fillna(ALL_SPLITS)
    frame = pd.DataFrame(
        {
            "split": splits,
            "label": manifest["label"],
            "found": 1,
            "readable": readable(manifest).astype(int),
            "quarantined": (manifest["status"] == QUARANTINED).astype(int),
            "usable": (manifest["status"] == OK).astype(int),
        }
    )
    observed = frame.groupby(["split", "label"]).sum()
    keys = {(s, c) for s, per_class in declared.items() for c in per_class} | set(observed.index)
    rows = []
    for split, label in sorted(keys):
        row = {"split": split, "label": label}
        row["declared"] = int(declared.get(split, {}).get(label, 0))
        for column in ("found", "readable", "quarantined", "usable"):
            row[column] = int(observed[column].get((split, label), 0))
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["split", "label", "declared", "found", "readable", "quarantined", "usable"]
    )


def class_totals(manifest: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Usable images per declared class over all splits (an empty class has zero)."""
    usable = manifest.loc[manifest["status"] == OK, "label"].value_counts()
    return pd.DataFrame({"label": classes, "usable": [int(usable.get(c, 0)) for c in classes]})


def split_pools(manifest: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per declared class: the distinct usable images split will divide, and how many it needs.

    Split keeps a dataset's own val and test images where they are and divides the rest (train,
    or no split) by content, so copies count once: each class needs one image for training and
    one for each split it carves out (imgflow/data/splitting.py, assign_splits).
    """
    usable = manifest[manifest["status"] == OK]
    own = set(usable["split"].dropna())
    splits = ["train", *(s for s in ("val", "test") if s not in own)]
    pool = usable[usable["split"].isna() | (usable["split"] == "train")]
    distinct = pool.drop_duplicates("sha256")["label"].value_counts()
    return pd.DataFrame(
        {
            "label": classes,
            "images": [int(distinct.get(c, 0)) for c in classes],
            "needed": len(splits),
            "splits": ", ".join(splits),
        }
    )


def quarantine_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Every quarantined file with its reason: the whole list, which the report only begins."""
    rows = manifest[manifest["status"] == QUARANTINED]
    return rows[QUARANTINE_COLUMNS].reset_index(drop=True)


def hash_labels(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per (content, class) among readable files: a repeated hash is a label conflict."""
    rows = manifest[readable(manifest)]
    return rows.drop_duplicates(["sha256", "label"])[["sha256", "label", "path"]]


def hash_splits(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per (content, split) among readable files: a repeated hash is a leak."""
    rows = manifest[readable(manifest) & manifest["split"].notna()]
    return rows.drop_duplicates(["sha256", "split"])[["sha256", "split", "path"]]


@dataclass(frozen=True)
class Check:
    """One expectation over one table, its policy, and how to say what failed in words."""

    name: str
    table: str
    expectation: Any  # a gx.expectations.Expectation
    index_columns: list[str]
    describe: Callable[[dict[str, Any]], str]
    action: str = "fail"  # fail: a failure stops the pipeline; quarantine/drop: files set aside


def build_checks(classes: list[str], params: ValidateParams) -> list[Check]:
    import great_expectations as gx

    def where(row: dict[str, Any]) -> str:
        return f"class {row['label']!r} (split {row['split']})"

    minimum = params.min_per_class
    return [
        Check(
            "readable",
            "manifest",
            gx.expectations.ExpectColumnValuesToNotBeInSet(
                column="reason", value_set=list(DECODE_REASONS)
            ),
            ["path", "label", "reason", "error"],
            lambda r: (
                f"unreadable file {r['path']} in class {r['label']!r} ({r['reason']}: {r['error']})"
            ),
            params.on_corrupt,
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
            gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="found", column_B="declared"),
            ["split", "label", "found", "declared"],
            lambda r: f"{where(r)}: {r['found']} files found, the dataset declares {r['declared']}",
        ),
        Check(
            "no_empty_classes",
            "class_totals",
            gx.expectations.ExpectColumnValuesToBeBetween(column="usable", min_value=1),
            ["label"],
            lambda r: f"class {r['label']!r} is declared but has no usable images",
        ),
        Check(
            "min_per_class",
            "class_counts",
            gx.expectations.ExpectColumnValuesToBeBetween(column="usable", min_value=minimum),
            ["split", "label", "usable"],
            lambda r: (
                f"{where(r)}: {r['usable']} usable images, below validate.min_per_class={minimum}"
            ),
        ),
        Check(
            "enough_to_split",
            "split_pools",
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="images", column_B="needed", or_equal=True
            ),
            ["label", "images", "needed", "splits"],
            lambda r: (
                f"class {r['label']!r}: {r['images']} distinct usable images to divide, but split "
                f"needs at least {r['needed']} (one for each of {r['splits']})"
            ),
        ),
        Check(
            "no_label_conflicts",
            "hash_labels",
            gx.expectations.ExpectColumnValuesToBeUnique(column="sha256"),
            ["sha256", "label", "path"],
            lambda r: (
                f"{r['path']}: same content (sha256 {r['sha256'][:12]}) also under another class"
            ),
            params.on_label_conflict,
        ),
        Check(
            "no_leaks",
            "hash_splits",
            gx.expectations.ExpectColumnValuesToBeUnique(column="sha256"),
            ["sha256", "split", "path"],
            lambda r: (
                f"{r['path']}: same content (sha256 {r['sha256'][:12]}) also in another split"
            ),
            params.on_leak,
        ),
    ]


def run_checks(tables: dict[str, pd.DataFrame], checks: list[Check]) -> list[dict[str, Any]]:
    """Validate each table with Great Expectations (ephemeral context, no project folder).

    Each outcome lists its first LIST_LIMIT failing rows; `failures_more` counts the rest.
    """
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
        unexpected = result.result.get("unexpected_index_list") or []
        failed_rows = [
            {col: json_safe(row.get(col)) for col in check.index_columns}
            for row in unexpected[:LIST_LIMIT]
        ]
        success = bool(result.success)
        outcomes.append(
            {
                "check": check.name,
                "table": check.table,
                "expectation": check.expectation.expectation_type,
                "success": success,
                "action": check.action,
                "blocking": not success and check.action == "fail",
                "rows_checked": len(table),
                "failures": [check.describe(row) for row in failed_rows],
                "failed_rows": failed_rows,
                "failures_more": max(len(unexpected) - LIST_LIMIT, 0),
            }
        )
    return outcomes


CheckOutcomes = list[dict[str, Any]]


Checker = Callable[[dict[str, pd.DataFrame], list[str], ValidateParams], CheckOutcomes]


def check_tables(
    tables: dict[str, pd.DataFrame], classes: list[str], params: ValidateParams
) -> CheckOutcomes:
    """Every check's outcome on the tables (what `validate` runs, here or in a child process)."""
    return run_checks(tables, build_checks(classes, params))


def validate(
    manifest: pd.DataFrame,
    dataset: dict[str, Any],
    params: ValidateParams,
    checker: Checker = check_tables,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the policies and run every check (with `checker`): (final manifest, report).

    The report's `success` is False when any check whose policy is `fail` failed.
    """
    final = apply_policies(manifest, params)
    tables = {
        "manifest": final,
        "class_counts": class_counts(final, dataset["declared_counts"]),
        "class_totals": class_totals(final, dataset["classes"]),
        "split_pools": split_pools(final, dataset["classes"]),
        "hash_labels": hash_labels(manifest),  # before the drops: a dropped conflict still shows
        "hash_splits": hash_splits(manifest),
    }
    outcomes = checker(tables, dataset["classes"], params)
    quarantined = quarantine_table(final)
    report = {
        "success": not any(o["blocking"] for o in outcomes),
        "dataset": dataset["name"],
        "images": len(final),
        "readable": int(readable(final).sum()),
        "usable": int((final["status"] == OK).sum()),
        "quarantined": len(quarantined),
        "classes": dataset["classes"],
        "policies": {
            "on_corrupt": params.on_corrupt,
            "on_label_conflict": params.on_label_conflict,
            "on_leak": params.on_leak,
            "min_per_class": params.min_per_class,
            "max_image_pixels": params.max_image_pixels,
        },
        "checks": outcomes,
        "quarantine": [
            {k: None if pd.isna(v) else json_safe(v) for k, v in row.items()}
            for row in quarantined.head(LIST_LIMIT).to_dict(orient="records")
        ],
        "quarantine_more": max(len(quarantined) - LIST_LIMIT, 0),
        "class_counts": tables["class_counts"].to_dict(orient="records"),
    }
    return final, report


def failure_message(report: dict[str, Any], limit: int = 20) -> str:
    """The blocking failures, for the stage's error message."""
    blocking = [o for o in report["checks"] if o.get("blocking", not o["success"])]
    failures = [f"[{o['check']}] {msg}" for o in blocking for msg in o["failures"]]
    unlisted = sum(o.get("failures_more", 0) for o in blocking)  # beyond the report's lists
    shown = "\n  ".join(failures[:limit])
    hidden = max(len(failures) - limit, 0) + unlisted
    more = f"\n  ... and {hidden} more" if hidden else ""
    names = ", ".join(o["check"] for o in blocking)
    return f"validation failed ({names}):\n  {shown}{more}"
