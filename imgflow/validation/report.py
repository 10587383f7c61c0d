"""The validation report as a page a person reads: reports/validation/index.html.

Built from the very dict written to reports/validation.json, so the two cannot disagree. GX's own
Data Docs need a file-backed GX project; validate uses an ephemeral context, so this page shows
the same content: every check with pass/fail and its failures, the quarantine list, the class
counts, the image-size histogram (PNG + CSV) and the dataset statistics. Per-file lists hold
what the report holds (checks.LIST_LIMIT rows), then say how many more there are and where.
"""

from __future__ import annotations

import csv
import io
from html import escape
from pathlib import Path
from typing import Any

from imgflow.common.artifacts import atomic_dir

SIZES_PNG = "image_sizes.png"
SIZES_CSV = "image_sizes.csv"
SIZE_COLUMNS = ["bin_start", "bin_end", "width", "height"]

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; }
.pass { color: #1a7f37; font-weight: bold; }
.fail { color: #cf222e; font-weight: bold; }
.handled { color: #9a6700; font-weight: bold; }
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v}</td>'
            if isinstance(v, int | float)
            else f"<td>{escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _more(count: int, where: str = "") -> str:
    """The line under a shortened list: how many rows it leaves out, and where they all are."""
    if not count:
        return ""
    return f"<p>... and {count:,} more{escape(where)}.</p>"


def _verdict(outcome: dict[str, Any]) -> tuple[str, str]:
    if outcome["success"]:
        return "pass", "passed"
    if outcome["blocking"]:
        return "fail", "FAILED: stops the pipeline"
    return "handled", f"failed: files quarantined (policy {outcome['action']})"


def _checks(report: dict[str, Any]) -> str:
    parts = []
    for outcome in report["checks"]:
        css, verdict = _verdict(outcome)
        items = "".join(f"<li>{escape(msg)}</li>" for msg in outcome["failures"])
        failures = f"<ul>{items}</ul>" if items else ""
        more = outcome.get("failures_more", 0)
        # Files a check sets aside are all in the quarantine table; those a check that stops
        # the pipeline names (a leak under on_leak=fail) may not be.
        where = _quarantine_pointer(report) if more and outcome["action"] != "fail" else ""
        parts.append(
            f"<h3>{escape(outcome['check'])}: <span class='{css}'>{escape(verdict)}</span></h3>"
            f"<p>{escape(outcome['expectation'])} on table <code>{escape(outcome['table'])}</code>"
            f" ({outcome['rows_checked']} rows, {len(outcome['failures']) + more} failing)</p>"
            f"{failures}{_more(more, where)}"
        )
    return "".join(parts)


def _quarantine_pointer(report: dict[str, Any]) -> str:
    where = report.get("quarantine_file")
    return f": every quarantined file is listed in {where}" if where else ""


def _stats(stats: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    """Nested statistics as (dotted key, value) rows, the way `dvc metrics show` prints them."""
    rows: list[list[Any]] = []
    for key, value in stats.items():
        if isinstance(value, dict):
            rows.extend(_stats(value, f"{prefix}{key}."))
        else:
            rows.append([f"{prefix}{key}", value])
    return rows


def render_html(report: dict[str, Any]) -> str:
    """The whole page; every value comes from `report` (escaped)."""
    css, verdict = ("pass", "passed") if report["success"] else ("fail", "FAILED")
    ignored_total = len(report.get("ignored_files", [])) + report.get("ignored_more", 0)
    summary = _table(
        ["files", "readable", "usable", "quarantined", "ignored"],
        [
            [
                report["images"],
                report["readable"],
                report["usable"],
                report["quarantined"],
                ignored_total,
            ]
        ],
    )
    policies = _table(
        ["parameter", "value"], [[f"validate.{k}", str(v)] for k, v in report["policies"].items()]
    )
    quarantine = _table(
        ["path", "class", "split", "reason", "detail"],
        [
            [q["path"], q["label"], q["split"] or "", q["reason"], q["error"]]
            for q in report["quarantine"]
        ],
    )
    counts = _table(
        ["split", "class", "declared", "found", "readable", "quarantined", "usable"],
        [
            [
                c["split"],
                c["label"],
                c["declared"],
                c["found"],
                c["readable"],
                c["quarantined"],
                c["usable"],
            ]
            for c in report["class_counts"]
        ],
    )
    ignored = "".join(f"<li>{escape(p)}</li>" for p in report.get("ignored_files", []))
    sizes = (
        f'<img src="{SIZES_PNG}" alt="histogram of image widths and heights">'
        f'<p>Data: <a href="{SIZES_CSV}">{SIZES_CSV}</a></p>'
        if report.get("image_sizes")
        else "<p>No usable images.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Validation: {escape(report["dataset"])}</title><style>{_STYLE}</style></head><body>
<h1>Validation of {escape(report["dataset"])}: <span class="{css}">{verdict}</span></h1>
{summary}
<h2>Policies</h2>{policies}
<h2>Checks</h2>{_checks(report)}
<h2>Quarantined files ({report["quarantined"]})</h2>
<p>Left out of later stages; data/raw is unchanged.</p>{quarantine}
{_more(report.get("quarantine_more", 0), _quarantine_pointer(report))}
<h2>Images per class</h2>
<p>The count check compares <em>declared</em> with <em>found</em> (every file present);
<em>usable</em> images go on to resize.</p>{counts}
<h2>Image sizes (usable images)</h2>{sizes}
<h2>Dataset statistics</h2>{_table(["statistic", "value"], _stats(report.get("stats", {})))}
<h2>Ignored files ({ignored_total})</h2><ul>{ignored}</ul>
{_more(report.get("ignored_more", 0), ": every ignored file is listed in download's dataset.json")}
</body></html>
"""


def sizes_csv(histogram: list[dict[str, int]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SIZE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(histogram)
    return buffer.getvalue()


def plot_sizes(histogram: list[dict[str, int]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [row["bin_start"] for row in histogram]
    widths = [row["bin_end"] - row["bin_start"] + 1 for row in histogram]
    fig, ax = plt.subplots(figsize=(7, 4))
    for column, offset, color in (("width", 0.0, "tab:blue"), ("height", 0.5, "tab:orange")):
        ax.bar(
            [s + offset * w for s, w in zip(starts, widths, strict=True)],
            [row[column] for row in histogram],
            width=[w * 0.5 for w in widths],
            align="edge",
            color=color,
            label=column,
        )
    ax.set_xlabel("pixels")
    ax.set_ylabel("images")
    ax.set_title("Image sizes of the usable images")
    ax.legend()
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)


def write_report_dir(report: dict[str, Any], target: Path | str) -> None:
    """index.html, image_sizes.png and image_sizes.csv, replacing `target` as a whole."""
    with atomic_dir(target) as folder:
        (folder / "index.html").write_text(render_html(report))
        (folder / SIZES_CSV).write_text(sizes_csv(report.get("image_sizes", [])))
        plot_sizes(report.get("image_sizes", []), folder / SIZES_PNG)  # empty axes if none
