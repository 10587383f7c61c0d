"""reports/report.html: the whole run on one page that needs nothing else to open.

The plot stage writes it beside the reports it reads (validate's and evaluate's), from the
figures it has just drawn. Everything is inside the file: images are base64 `data:` URIs, the
style sheet is inline and there is no script, so it reads the same offline, mailed or archived.
Every string that comes from data (class names, file names, params) is HTML-escaped.

What made it is on it: the git revision checked out when it was written, the data (the
dataset's name and source, and the sha256 of download's images.parquet) and params.yaml.
A file a section needs that is missing leaves a line saying so in that section, not an error:
the page is the place a person looks to find out what a run did.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from imgflow.common.artifacts import file_sha256

# Inputs the page reads from the folder it is written to (reports/).
VALIDATION = "validation.json"
DATA_STATS = "data_stats.json"
METRICS = "metrics.json"
PER_CLASS = "per_class.json"
CLASSIFICATION_REPORT = "classification_report.txt"
CONFUSED_PAIRS = "confused_pairs.csv"
GATE = "gate.json"
VALIDATION_PAGE = Path("validation") / "index.html"
# ... and from download's folder (data/raw).
DATASET = "dataset.json"
IMAGES = "images.parquet"

# metrics.json's keys in reading order, each with what it means; keys not named here follow
# in the file's order, so a figure evaluate adds later still shows.
METRIC_NOTES: dict[str, str] = {
    "accuracy": "share of test images classified right",
    "majority_baseline": "accuracy of always predicting the most common class",
    "degenerate": "whether the model does no better than that baseline",
    "degenerate_reason": "why it counts as degenerate",
    "top_k": "k of the top-k accuracy",
    "top_k_accuracy": "share of test images whose class is among the k most probable",
    "precision_macro": "precision averaged over classes",
    "recall_macro": "recall averaged over classes",
    "f1_macro": "F1 averaged over classes",
    "loss": "test loss",
    "ece": "expected calibration error (0: confidence matches accuracy)",
    "accuracy_tta_flip": "accuracy with each image averaged with its mirror image",
    "accuracy_tta_flip_translate": "accuracy with flip and one-pixel shifts averaged",
    "test_images": "images in the test split",
    "class_grades": "classes per error grade (evaluate.error_grades)",
    "best_epoch": "the epoch whose weights were kept",
    "epochs_run": "epochs trained",
    "best_val_accuracy": "validation accuracy at the best epoch",
    "train_accuracy_at_best_epoch": "training accuracy at the best epoch",
    "overfitting_gap": "train minus validation accuracy at the best epoch",
    "final_overfitting_gap": "train minus validation accuracy at the last epoch",
}
# Kept out of the overall table: they have a table of their own.
PER_CLASS_KEY = "per_class"

# The plot stage's figures the page shows, by file stem, with their alt text.
FIGURE_ALT = {
    "class_distribution": "bar chart of images per class in each split",
    "samples": "grid of training images, one row per class",
    "training_curves": "accuracy and loss per epoch, training and validation",
    "class_errors": "errors per 1,000 test images by class, coloured by grade",
    "reliability": "reliability diagram: accuracy against confidence",
    "confusion_matrix": "confusion matrix of test counts, true against predicted",
    "confusion_matrix_normalised": "confusion matrix as shares of each true class",
}

_STYLE = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --soft: #f6f8fa;
  --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header { background: #24292f; color: #fff; padding: 1.2em 2em; }
header h1 { margin: 0 0 0.2em; font-size: 1.6em; }
header p { margin: 0; color: #d0d7de; }
main { max-width: 1200px; margin: 0 auto; padding: 1em 2em 3em; }
nav { margin: 1em 0; padding: 0.6em 0.9em; background: var(--soft); border-radius: 6px; }
nav a { margin-right: 1.1em; color: #0969da; text-decoration: none; white-space: nowrap; }
section { border-top: 1px solid var(--line); padding-top: 0.4em; margin-top: 1.6em; }
h2 { font-size: 1.35em; } h3 { font-size: 1.08em; margin-bottom: 0.3em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.6em 1em; min-width: 10em; }
.card .label { color: var(--muted); font-size: 0.85em; }
.card .value { font-size: 1.35em; font-weight: 600; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid var(--line); padding: 0.25em 0.6em; text-align: left;
  vertical-align: top; }
th { background: var(--soft); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.note { color: var(--muted); }
.pass { color: var(--good); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
.handled { color: var(--warn); font-weight: 600; }
.banner { border: 1px solid var(--bad); background: #ffebe9; padding: 0.6em 1em;
  border-radius: 6px; }
.missing { color: var(--muted); font-style: italic; }
figure { margin: 0.8em 0 1.4em; }
.pair { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.pair > figure { flex: 1 1 480px; max-width: 100%; }
figure > img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9em; }
pre { background: var(--soft); padding: 0.8em; border-radius: 6px; overflow-x: auto;
  font-size: 0.88em; }
code { overflow-wrap: anywhere; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(132px, 1fr));
  gap: 0.6em; margin: 0.6em 0 1.4em; }
.gallery figure { margin: 0; border: 1px solid var(--line); border-radius: 6px;
  padding: 0.4em; text-align: center; }
.gallery img { width: 96px; height: 96px; object-fit: contain; image-rendering: pixelated;
  background: var(--soft); }
.gallery figcaption { font-size: 0.8em; color: var(--ink); overflow-wrap: anywhere; }
.gallery .path { color: var(--muted); display: block; }
details > summary { cursor: pointer; color: #0969da; }
"""


@dataclass(frozen=True)
class GalleryItem:
    """One test image of a gallery, with what the model made of it."""

    png: bytes
    path: str
    true_label: str
    predicted_label: str
    probability: float


@dataclass
class ReportInputs:
    """Everything the page reads besides the stage's own figures; None where a file is missing
    (`missing` then names it)."""

    validation: dict[str, Any] | None = None
    data_stats: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    per_class: dict[str, dict[str, Any]] | None = None
    per_class_source: str = ""
    classification_report: str | None = None
    confused_pairs: list[dict[str, str]] | None = None
    gate: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    git_revision: str = "unknown"
    data_fingerprint: dict[str, str] = field(default_factory=dict)
    validation_page: str | None = None  # the link to validate's page, relative to this one
    missing: dict[str, str] = field(default_factory=dict)  # input name -> path looked at


# ---- reading ---------------------------------------------------------------------------------


def git_revision(project: Path) -> str:
    """The commit checked out in `project` (`git rev-parse HEAD`), or "unknown" outside a
    repository, in one without commits or without git installed."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def data_fingerprint(raw: Path) -> dict[str, str]:
    """Which data made the run: the dataset's name and source (download's dataset.json) and
    the sha256 of every image's bytes as stored (images.parquet; `sha256sum` checks it)."""
    found: dict[str, str] = {}
    dataset = _read_json(raw / DATASET)
    if isinstance(dataset, dict):
        found["dataset"] = str(dataset.get("name", "unknown"))
        found["source"] = str(dataset.get("source", "unknown"))
    images = raw / IMAGES
    found[f"{IMAGES} sha256"] = file_sha256(images) if images.is_file() else "unknown"
    return found


def per_class_figures(data: Any) -> dict[str, dict[str, Any]] | None:
    """Per-class figures keyed by class name, from {class: {figure: value}} or a list of rows
    with a `class` key (evaluate's per_class.json or metrics.json's `per_class`)."""
    if isinstance(data, dict) and isinstance(data.get(PER_CLASS_KEY), dict | list):
        data = data[PER_CLASS_KEY]
    if isinstance(data, list):
        data = {
            str(row.get("class")): {k: v for k, v in row.items() if k != "class"}
            for row in data
            if isinstance(row, dict)
        }
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        return {str(name): figures for name, figures in data.items()}
    return None


def read_inputs(report_dir: Path, raw: Path, params_path: Path, project: Path) -> ReportInputs:
    """The page's inputs: validate's and evaluate's reports in `report_dir`, download's
    `raw` folder, the params file and the git checkout at `project`."""
    inputs = ReportInputs()

    def optional(name: str, path: Path, reader: Callable[[Path], Any]) -> Any:
        if not path.is_file():
            inputs.missing[name] = str(path)
            return None
        return reader(path)

    inputs.validation = optional("validation", report_dir / VALIDATION, _read_json)
    inputs.data_stats = optional("data_stats", report_dir / DATA_STATS, _read_json)
    inputs.metrics = optional("metrics", report_dir / METRICS, _read_json)
    # evaluate's own per-class file when it writes one, else the older `per_class` in
    # metrics.json. Not a DVC dependency of plot: evaluate makes it from the predictions and
    # params, which are, so it never changes alone.
    separate = report_dir / PER_CLASS
    if separate.is_file():
        inputs.per_class = per_class_figures(_read_json(separate))
        inputs.per_class_source = PER_CLASS
    elif inputs.metrics is not None and PER_CLASS_KEY in inputs.metrics:
        inputs.per_class = per_class_figures(inputs.metrics[PER_CLASS_KEY])
        inputs.per_class_source = f"{METRICS} ({PER_CLASS_KEY})"
    inputs.classification_report = optional(
        "classification_report", report_dir / CLASSIFICATION_REPORT, Path.read_text
    )
    inputs.confused_pairs = optional("confused_pairs", report_dir / CONFUSED_PAIRS, _read_csv)
    # Written by `imgflow retrain`, not by a stage, so a plain run has none: read when there
    # is one, and not a DVC dependency of plot (a dependency must exist).
    gate = report_dir / GATE
    inputs.gate = _read_json(gate) if gate.is_file() else None
    inputs.params = optional("params", params_path, lambda p: yaml.safe_load(p.read_text()))
    inputs.git_revision = git_revision(project)
    inputs.data_fingerprint = data_fingerprint(raw)
    if (report_dir / VALIDATION_PAGE).is_file():
        inputs.validation_page = VALIDATION_PAGE.as_posix()
    return inputs


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def gallery_items(rows: pd.DataFrame, images: np.ndarray) -> list[GalleryItem]:
    """The gallery of `rows` (predictions with their `position` in the test arrays)."""
    return [
        GalleryItem(
            png_bytes(images[row.position]),
            str(row.path),
            str(row.true_label),
            str(row.predicted_label),
            float(row.probability),
        )
        for row in rows.itertuples()
    ]


def png_bytes(image: np.ndarray) -> bytes:
    """A test image (height x width x 1 or 3, 0..255) as PNG bytes."""
    pixels = np.clip(np.asarray(image), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, "png")
    return buffer.getvalue()


# ---- rendering -------------------------------------------------------------------------------


def _e(value: Any) -> str:
    """Any value as escaped HTML text."""
    return escape(str(value), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def format_value(value: Any, nested: bool = False) -> str:
    """A figure as a person reads it (plain text, not yet escaped): scores to 4 decimals, and
    inside a dict or list (`nested`) without trailing zeros (a median of 8.0 reads 8)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        text = f"{value:.4f}"
        return text.rstrip("0").rstrip(".") if nested else text
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v, True)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(format_value(v, True) for v in value)
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="n">{_e(format_value(value))}</td>'
    return f"<td>{_e(format_value(value))}</td>"


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; numbers right-aligned, everything escaped. Without `headers`, a list of
    facts: each row's first cell is its heading."""
    if headers is None:
        body = "".join(
            f"<tr><th>{_e(row[0])}</th>" + "".join(_cell(v) for v in row[1:]) + "</tr>"
            for row in rows
        )
        return f"<table><tbody>{body}</tbody></table>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _number(text: str) -> Any:
    """A CSV cell as a number where it is one, so it lines up right."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """(key, value, meaning) for every overall figure: the known ones in reading order, then
    the rest in the file's order; the per-class figures are left to their own table."""
    keys = [k for k in METRIC_NOTES if k in metrics]
    keys += [k for k in metrics if k not in METRIC_NOTES and k != PER_CLASS_KEY]
    return [(key, metrics[key], METRIC_NOTES.get(key, "")) for key in keys]


def per_class_rows(per_class: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[list]]:
    """Headers and rows of the per-class table: every figure any class has, first seen first."""
    columns: list[str] = []
    for figures in per_class.values():
        columns += [k for k in figures if k not in columns]
    rows = [[name, *(figures.get(c) for c in columns)] for name, figures in per_class.items()]
    return ["class", *columns], rows


def _missing(inputs: ReportInputs, name: str, what: str) -> str:
    where = inputs.missing.get(name, name)
    return f'<p class="missing">No {_e(what)}: {_e(where)} was not found.</p>'


def _figure(figures: Mapping[str, bytes], name: str, caption: str = "") -> str:
    if name not in figures:
        return f'<p class="missing">No {_e(name)} figure.</p>'
    alt = FIGURE_ALT.get(name, name.replace("_", " "))
    note = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{data_uri(figures[name])}" alt="{_e(alt)}">{note}</figure>'


def _pair(figures: Mapping[str, bytes], left: str, right: str) -> str:
    """Two figures side by side where the window is wide enough, else one under the other."""
    return f'<div class="pair">{_figure(figures, left)}{_figure(figures, right)}</div>'


def _card(label: str, value: str, css: str = "") -> str:
    style = f' class="value {css}"' if css else ' class="value"'
    return f'<div class="card"><div class="label">{_e(label)}</div><div{style}>{value}</div></div>'


def _validation_verdict(validation: Mapping[str, Any]) -> tuple[str, str]:
    if validation.get("success"):
        return "pass", "passed"
    return "fail", "failed"


def _check_verdict(check: Mapping[str, Any]) -> tuple[str, str]:
    if check.get("success"):
        return "pass", "passed"
    if check.get("blocking"):
        return "fail", "failed: stops the pipeline"
    return "handled", f"failed: handled ({check.get('action', '?')})"


def _headline(inputs: ReportInputs) -> str:
    cards = []
    metrics = inputs.metrics or {}
    if "accuracy" in metrics:
        cards.append(_card("test accuracy", _e(format_value(metrics["accuracy"]))))
    if "f1_macro" in metrics:
        cards.append(_card("macro F1", _e(format_value(metrics["f1_macro"]))))
    if "test_images" in metrics:
        cards.append(_card("test images", _e(format_value(metrics["test_images"]))))
    if inputs.validation is not None:
        css, verdict = _validation_verdict(inputs.validation)
        cards.append(_card("validation", _e(verdict), css))
    if inputs.gate is not None:
        promote = bool(inputs.gate.get("promote"))
        cards.append(
            _card("gate", "promote" if promote else "keep champion", "pass" if promote else "fail")
        )
    cards.append(_card("git revision", f"<code>{_e(inputs.git_revision[:12])}</code>"))
    banner = ""
    if metrics.get("degenerate"):
        reason = metrics.get("degenerate_reason") or "no reason given"
        banner = (
            f'<p class="banner"><strong>Degenerate model:</strong> {_e(format_value(reason))}</p>'
        )
    return f'<div class="cards">{"".join(cards)}</div>{banner}'


def _data_section(
    inputs: ReportInputs, figures: Mapping[str, bytes], distribution: pd.DataFrame
) -> str:
    parts = ['<section id="data"><h2>Data and validation</h2>']
    validation = inputs.validation
    if validation is None:
        parts.append(_missing(inputs, "validation", "validation report"))
    else:
        css, verdict = _validation_verdict(validation)
        parts.append(
            f"<p>Dataset <strong>{_e(validation.get('dataset', '?'))}</strong>: validation "
            f'<span class="{css}">{_e(verdict)}</span>.</p>'
        )
        counts = ["images", "readable", "usable", "quarantined"]
        parts.append(table(counts, [[validation.get(k) for k in counts]]))
        checks = [
            [
                c.get("check", "?"),
                _check_verdict(c)[1],
                c.get("rows_checked"),
                len(c.get("failures", [])) + c.get("failures_more", 0),
            ]
            for c in validation.get("checks", [])
        ]
        parts.append("<h3>Checks</h3>")
        parts.append(table(["check", "outcome", "rows checked", "failing"], checks))
        quarantine = validation.get("quarantine", [])
        if quarantine:
            parts.append("<h3>Quarantined files (first 10)</h3>")
            parts.append(
                table(
                    ["path", "class", "reason"],
                    [[q.get("path"), q.get("label"), q.get("reason")] for q in quarantine[:10]],
                )
            )
        if inputs.validation_page:
            parts.append(
                f'<p>Every check with its failures: <a href="{_e(inputs.validation_page)}">'
                "the validation page</a>.</p>"
            )
    if inputs.data_stats is None:
        parts.append(_missing(inputs, "data_stats", "dataset statistics"))
    else:
        # Per-class counts are in the class distribution below.
        stats = [[k, v] for k, v in inputs.data_stats.items() if k != "count"]
        parts.append("<h3>Dataset statistics</h3>")
        parts.append(table(["statistic", "value"], stats))
    parts.append('</section><section id="classes"><h2>Class distribution</h2>')
    parts.append(_figure(figures, "class_distribution"))
    if not distribution.empty:
        rows = [
            [name, *row]
            for name, row in zip(distribution.index, distribution.to_numpy().tolist(), strict=True)
        ]
        parts.append(
            "<details><summary>Images per class and split, as a table</summary>"
            + table(["class", *map(str, distribution.columns)], rows)
            + "</details>"
        )
    parts.append('</section><section id="samples"><h2>Sample images</h2>')
    parts.append(_figure(figures, "samples", "The first training images of each class."))
    parts.append("</section>")
    return "".join(parts)


def _metrics_section(inputs: ReportInputs, figures: Mapping[str, bytes]) -> str:
    parts = ['<section id="training"><h2>Training</h2>']
    parts.append(_figure(figures, "training_curves"))
    parts.append('</section><section id="metrics"><h2>Test metrics</h2>')
    if inputs.metrics is None:
        parts.append(_missing(inputs, "metrics", "test metrics"))
    else:
        rows = metric_rows(inputs.metrics)
        parts.append(
            "<table><thead><tr><th>metric</th><th>value</th><th>meaning</th></tr></thead><tbody>"
            + "".join(
                f'<tr><td><code>{_e(k)}</code></td>{_cell(v)}<td class="note">{_e(n)}</td></tr>'
                for k, v, n in rows
            )
            + "</tbody></table>"
        )
    parts.append("<h3>Per class</h3>")
    if inputs.per_class:
        headers, rows = per_class_rows(inputs.per_class)
        parts.append(table(headers, rows))
        parts.append(f'<p class="missing">From {_e(inputs.per_class_source)}.</p>')
    else:
        parts.append('<p class="missing">No per-class figures.</p>')
    parts.append("<h3>Classification report</h3>")
    if inputs.classification_report is None:
        parts.append(_missing(inputs, "classification_report", "classification report"))
    else:
        parts.append(f"<pre>{_e(inputs.classification_report)}</pre>")
    parts.append(_pair(figures, "class_errors", "reliability"))
    parts.append("</section>")
    return "".join(parts)


def _confusion_section(inputs: ReportInputs, figures: Mapping[str, bytes]) -> str:
    parts = ['<section id="confusion"><h2>Confusion matrix</h2>']
    # One under the other: a matrix needs the width for its cells' numbers.
    parts.append(_figure(figures, "confusion_matrix"))
    parts.append(_figure(figures, "confusion_matrix_normalised"))
    parts.append("<h3>Most confused pairs</h3>")
    pairs = inputs.confused_pairs
    if pairs is None:
        parts.append(_missing(inputs, "confused_pairs", "confused pairs"))
    elif not pairs:
        parts.append("<p>No class was mistaken for another.</p>")
    else:
        headers = list(pairs[0])
        parts.append(table(headers, [[_number(row[h]) for h in headers] for row in pairs]))
    parts.append("</section>")
    return "".join(parts)


def gallery(items: Sequence[GalleryItem], empty: str) -> str:
    if not items:
        return f"<p>{_e(empty)}</p>"
    cards = "".join(
        f'<figure><img src="{data_uri(item.png)}" '
        f'alt="{_e(f"{item.path}: {item.true_label} predicted as {item.predicted_label}")}">'
        f"<figcaption>true <strong>{_e(item.true_label)}</strong>, "
        f"predicted <strong>{_e(item.predicted_label)}</strong> ({item.probability:.2f})"
        f'<span class="path">{_e(item.path)}</span></figcaption></figure>'
        for item in items
    )
    return f'<div class="gallery">{cards}</div>'


def _errors_section(
    misclassified: Sequence[GalleryItem], confidently_wrong: Sequence[GalleryItem]
) -> str:
    return (
        '<section id="errors"><h2>Wrong predictions</h2>'
        "<h3>Misclassified, spread over the test set</h3>"
        f"{gallery(misclassified, 'No misclassified test images.')}"
        "<h3>Most confidently wrong</h3>"
        f"{gallery(confidently_wrong, 'No misclassified test images.')}"
        "</section>"
    )


def _gate_section(inputs: ReportInputs) -> str:
    parts = ['<section id="gate"><h2>Gate decision</h2>']
    gate = inputs.gate
    if gate is None:
        parts.append(
            "<p>None: <code>imgflow retrain</code> writes reports/gate.json when it judges a "
            "challenger.</p></section>"
        )
        return "".join(parts)
    promote = bool(gate.get("promote"))
    css = "pass" if promote else "fail"
    parts.append(
        f'<p class="{css}">{_e(gate.get("summary", "promote" if promote else "keep"))}</p>'
    )
    champion = gate.get("champion")
    facts = [
        ["experiment", gate.get("experiment")],
        ["decided at", gate.get("decided_at")],
        ["baseline commit", gate.get("baseline")],
        [
            "champion",
            f"{champion.get('branch')} at {champion.get('commit')}"
            if isinstance(champion, dict)
            else "none yet",
        ],
        ["params set", gate.get("set_params") or "none"],
    ]
    promotion = gate.get("promotion")
    if isinstance(promotion, dict):
        facts.append(["promoted as", format_value(promotion)])
    parts.append(table(None, [row for row in facts if row[1] is not None]))
    rules = [
        [
            r.get("name"),
            "passed" if r.get("passed") else "failed",
            r.get("value"),
            r.get("threshold"),
            r.get("detail"),
        ]
        for r in gate.get("rules", [])
    ]
    parts.append(table(["rule", "outcome", "value", "threshold", "detail"], rules))
    parts.append(
        '<p class="missing">From reports/gate.json as it was when this page was written: '
        "retrain writes it, not a stage, so DVC does not rerun the page when it changes.</p>"
    )
    parts.append("</section>")
    return "".join(parts)


def _provenance_section(inputs: ReportInputs) -> str:
    rows = [["git revision", inputs.git_revision]]
    rows += [[k, v] for k, v in inputs.data_fingerprint.items()]
    parts = ['<section id="provenance"><h2>What made this run</h2>']
    parts.append(table(None, rows))
    parts.append("<h3>Params (params.yaml)</h3>")
    if inputs.params is None:
        parts.append(_missing(inputs, "params", "params"))
    else:
        text = yaml.safe_dump(inputs.params, sort_keys=False, default_flow_style=False)
        parts.append(f"<pre>{_e(text)}</pre>")
    parts.append("</section>")
    return "".join(parts)


NAV = (
    ("data", "Data"),
    ("classes", "Classes"),
    ("samples", "Samples"),
    ("training", "Training"),
    ("metrics", "Metrics"),
    ("confusion", "Confusion"),
    ("errors", "Wrong predictions"),
    ("gate", "Gate"),
    ("provenance", "Provenance"),
)


def _subtitle(inputs: ReportInputs) -> str:
    source = inputs.data_fingerprint.get("source")
    where = f"data from {source}, " if source else ""
    return f"{where}git revision {inputs.git_revision}"


def render_report(
    inputs: ReportInputs,
    figures: Mapping[str, bytes],
    distribution: pd.DataFrame,
    misclassified: Sequence[GalleryItem],
    confidently_wrong: Sequence[GalleryItem],
) -> str:
    """The whole page. `figures` are the plot stage's PNGs by name; `distribution` is images
    per class (rows) and split (columns)."""
    name = (inputs.validation or {}).get("dataset") or inputs.data_fingerprint.get(
        "dataset", "unknown dataset"
    )
    nav = "".join(f'<a href="#{anchor}">{_e(label)}</a>' for anchor, label in NAV)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>imgflow report: {_e(name)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>imgflow report: {_e(name)}</h1>"
        f"<p>{_e(_subtitle(inputs))}</p></header><main>"
        f"{_headline(inputs)}<nav>{nav}</nav>"
        f"{_data_section(inputs, figures, distribution)}"
        f"{_metrics_section(inputs, figures)}"
        f"{_confusion_section(inputs, figures)}"
        f"{_errors_section(misclassified, confidently_wrong)}"
        f"{_gate_section(inputs)}"
        f"{_provenance_section(inputs)}"
        "</main></body></html>\n"
    )
