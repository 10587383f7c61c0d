"""Two runs side by side, from what DVC and evaluate wrote: the params that changed, the overall
metrics with their change, the classes that moved most and those that got worse.

Pure functions on parsed JSON (`dvc params diff --json`, `dvc metrics diff --all --json`,
reports/per_class.json) returning `Table`s, each printable as aligned text or as a Markdown
table for a pull request. `imgflow compare` (pipelines/compare.py) does the I/O.

It lives here rather than in imgflow/evaluation/ because that folder is a DVC dependency of
evaluate and plot: a change to how runs are compared must not rerun them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

METRICS_FILE = "reports/metrics.json"
PARAMS_FILE = "params.yaml"
# Keys an older metrics.json held per class (now in per_class.json, compared class by class).
OLD_PER_CLASS_PREFIX = "per_class."
# reports/metrics.json's keys in the order evaluate writes them (nested ones by their first part)
METRIC_ORDER = (
    "accuracy",
    "accuracy_tta_flip",
    "accuracy_tta_flip_translate",
    "coarse_accuracy",
    "loss",
    "top_k",
    "top_k_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "ece",
    "test_images",
    "majority_baseline",
    "degenerate",
    "degenerate_reason",
    "class_grades",
    "best_epoch",
    "epochs_run",
    "best_val_accuracy",
    "train_accuracy_at_best_epoch",
    "overfitting_gap",
    "final_overfitting_gap",
)
CLASS_FIGURES = ("recall", "f1")  # what "moved" and "got worse" judge, as the gate does
# Per-class moves smaller than this are float noise, not a change.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "none"  # said instead of an empty table
    notes: tuple[str, ...] = ()  # lines after the table

    def markdown(self) -> str:
        lines = [f"**{self.title}**", ""]
        if not self.rows:
            lines.append(f"_{self.empty}_")
        else:
            lines.append(_markdown_row(self.headers))
            lines.append("|" + "|".join("---" for _ in self.headers) + "|")
            lines += [_markdown_row(row) for row in self.rows]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)

    def text(self) -> str:
        lines = [self.title]
        if not self.rows:
            lines.append(f"  {self.empty}")
        else:
            widths = [
                max(len(cell) for cell in column)
                for column in zip(self.headers, *self.rows, strict=True)
            ]
            for row in (self.headers, *self.rows):
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
                lines.append("  " + "  ".join(cells).rstrip())
        lines += [f"  ({note})" for note in self.notes]
        return "\n".join(lines)


def _markdown_row(cells: Sequence[str]) -> str:
    # A `|` inside a cell (a class name, a path) would split it.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render(heading: str, warnings: Sequence[str], tables: Sequence[Table], markdown: bool) -> str:
    """The heading, any warnings, then every table, one blank line apart."""
    if markdown:
        top = [f"### {heading}", *(f"> **{line}**" for line in warnings)]
        return "\n\n".join([*top, *(table.markdown() for table in tables)])
    return "\n\n".join(["\n".join([heading, *warnings]), *(table.text() for table in tables)])


def value_text(value: Any) -> str:
    """A metric or param as people read it: floats to 4 decimals, none as `-`."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def change_text(old: Any, new: Any) -> str:
    """new - old for two numbers (not flags), signed; empty otherwise."""
    numbers = (int, float)
    if not (isinstance(old, numbers) and isinstance(new, numbers)):
        return ""
    if isinstance(old, bool) or isinstance(new, bool):
        return ""
    change = new - old
    return f"{change:+d}" if isinstance(change, int) else f"{change:+.4f}"


def params_table(diff: Mapping[str, Mapping[str, Mapping[str, Any]]], a: str, b: str) -> Table:
    """`dvc params diff --json` as rows: param, its value at `a`, at `b`."""
    rows = []
    for path in sorted(diff, key=lambda p: (p != PARAMS_FILE, p)):
        for key, change in sorted(diff[path].items()):
            name = key if path == PARAMS_FILE else f"{path}:{key}"
            rows.append((name, value_text(change.get("old")), value_text(change.get("new"))))
    return Table("Params changed", ("param", a, b), tuple(rows))


def _metric_order(path: str, key: str) -> tuple[int, int, str]:
    # evaluate's own order (the figures people look at first), then the rest by name
    if path == METRICS_FILE and key.split(".")[0] in METRIC_ORDER:
        return (0, METRIC_ORDER.index(key.split(".")[0]), key)
    return (1, 0, key)


def metric_rows(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]], a: str, b: str
) -> tuple[list[tuple[str, Any, Any]], list[str]]:
    """(name, old, new) for each metric in `dvc metrics diff --all --json`, evaluate's file
    first, and a note for each file only one side declares as metrics (it is no use listing
    every value of it against nothing); an old metrics.json's per-class keys are left out."""
    rows, notes = [], []
    for path in sorted(diff, key=lambda p: (p != METRICS_FILE, p)):
        figures = {
            key: change
            for key, change in diff[path].items()
            if not (path == METRICS_FILE and key.startswith(OLD_PER_CLASS_PREFIX))
        }
        for side, other in ((a, "new"), (b, "old")):
            if figures and all(change.get(other) is None for change in figures.values()):
                notes.append(f"{path}: metrics only at {side} ({len(figures)} values)")
                figures = {}
        for key in sorted(figures, key=lambda k: _metric_order(path, k)):
            name = key if path == METRICS_FILE else f"{path}:{key}"
            rows.append((name, figures[key].get("old"), figures[key].get("new")))
    return rows, notes


def metrics_table(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]], a: str, b: str, show_all: bool = False
) -> Table:
    """Overall metrics at `a` and `b` with the change; unchanged ones only with `show_all`."""
    rows, notes = metric_rows(diff, a, b)
    shown = [row for row in rows if show_all or row[1] != row[2]]
    hidden = len(rows) - len(shown)
    if hidden:
        notes.append(f"{hidden} unchanged metrics not shown; --all shows them")
    return Table(
        "Metrics",
        ("metric", a, b, "change"),
        tuple(
            (name, value_text(old), value_text(new), change_text(old, new))
            for name, old, new in shown
        ),
        empty="no metric changed",
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ClassChange:
    name: str
    old: Mapping[str, Any]  # the class's per_class.json figures at each side
    new: Mapping[str, Any]

    def change(self, figure: str) -> float:
        return float(self.new[figure]) - float(self.old[figure])

    @property
    def largest(self) -> float:
        return max(abs(self.change(figure)) for figure in CLASS_FIGURES)

    @property
    def worst(self) -> float:
        return min(self.change(figure) for figure in CLASS_FIGURES)


def class_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[ClassChange]:
    """The classes both sides scored, in `new`'s order."""
    return [ClassChange(name, old[name], new[name]) for name in new if name in old]


def _class_row(change: ClassChange) -> tuple[str, ...]:
    cells = [change.name]
    for figure in CLASS_FIGURES:
        old, new = float(change.old[figure]), float(change.new[figure])
        cells += [value_text(old), value_text(new), change_text(old, new)]
    return tuple(cells)


def _class_headers(a: str, b: str) -> tuple[str, ...]:
    names = {"recall": "recall", "f1": "F1"}
    return ("class", *(f"{names[f]} {side}" for f in CLASS_FIGURES for side in (a, b, "change")))


def moved_table(changes: Sequence[ClassChange], a: str, b: str, limit: int) -> Table:
    """The `limit` classes whose recall or F1 moved most, either way, largest first."""
    moved = sorted(
        (c for c in changes if c.largest > TOLERANCE), key=lambda c: (-c.largest, c.name)
    )
    return Table(
        f"Classes that moved most (recall or F1, {b} against {a})",
        _class_headers(a, b),
        tuple(_class_row(c) for c in moved[:limit]),
        empty="no class moved" if changes else "no class in common",
        notes=(f"{len(moved) - limit} more moved",) if len(moved) > limit else (),
    )


def worse_table(changes: Sequence[ClassChange], a: str, b: str) -> Table:
    """Every class whose recall or F1 fell, the largest fall first, with its grade."""
    worse = sorted((c for c in changes if c.worst < -TOLERANCE), key=lambda c: (c.worst, c.name))
    return Table(
        f"Classes that got worse ({b} against {a})",
        ("class", "recall change", "F1 change", "grade"),
        tuple(
            (
                c.name,
                change_text(float(c.old["recall"]), float(c.new["recall"])),
                change_text(float(c.old["f1"]), float(c.new["f1"])),
                _grade_move(c.old.get("grade"), c.new.get("grade")),
            )
            for c in worse
        ),
        empty="no class got worse" if changes else "no class in common",
    )


def _grade_move(old: Any, new: Any) -> str:
    if old is None and new is None:
        return "-"
    return str(new) if old == new else f"{value_text(old)} -> {value_text(new)}"


def unmatched_note(old: Mapping[str, Any], new: Mapping[str, Any], a: str, b: str) -> str | None:
    """A line naming classes only one side has (another dataset, a class map), or None."""
    only_old = [name for name in old if name not in new]
    only_new = [name for name in new if name not in old]
    parts = []
    for side, names in ((a, only_old), (b, only_new)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"only in {side}: {shown}")
    return "; ".join(parts) if parts else None


def degenerate_lines(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]], a: str, b: str
) -> list[str]:
    """A warning per side whose evaluate flagged a degenerate model."""
    figures = diff.get(METRICS_FILE, {})
    flag, reason = figures.get("degenerate", {}), figures.get("degenerate_reason", {})
    return [
        f"WARNING: {side} is a degenerate model: {reason.get(key) or 'see its metrics.json'}"
        for side, key in ((a, "old"), (b, "new"))
        if flag.get(key) is True
    ]


def comparison(
    params_diff: Mapping[str, Any],
    metrics_diff: Mapping[str, Any],
    per_class_a: Mapping[str, Mapping[str, Any]],
    per_class_b: Mapping[str, Mapping[str, Any]],
    a: str,
    b: str,
    limit: int = 5,
    show_all: bool = False,
) -> tuple[list[str], list[Table]]:
    """Warnings and the four tables comparing run `a` with run `b`."""
    changes = class_changes(per_class_a, per_class_b)
    worse = worse_table(changes, a, b)
    note = unmatched_note(per_class_a, per_class_b, a, b)
    if note:
        worse = replace(worse, notes=(note,))
    return degenerate_lines(metrics_diff, a, b), [
        params_table(params_diff, a, b),
        metrics_table(metrics_diff, a, b, show_all),
        moved_table(changes, a, b, limit),
        worse,
    ]
