"""`imgflow predict`'s output formats: an aligned table for people, CSV and JSON for programs.

Probabilities print as the shortest decimal that reads back as the model's float32 value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Literal

import numpy as np

from imgflow.inference.ranking import Ranked

Format = Literal["table", "csv", "json"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json")


def probability(value: float) -> float:
    """`value` as the shortest decimal that reads back as the same float32."""
    return float(str(np.float32(value)))


def table(results: Sequence[Ranked]) -> str:
    """One row per file: its path, then `class probability` for each rank."""
    ranks = max((len(r.top) for r in results), default=0)
    header = ["file", *(f"top-{rank}" for rank in range(1, ranks + 1))]
    rows = [header]
    for result in results:
        cells = [result.path, *(f"{name} {p:.4f}" for name, p in result.top)]
        rows.append(cells + [""] * (len(header) - len(cells)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def csv_text(results: Sequence[Ranked]) -> str:
    """One row per file and rank: path, rank, class, probability."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "rank", "class", "probability"])
    for result in results:
        for rank, (name, p) in enumerate(result.top, start=1):
            writer.writerow([result.path, rank, name, probability(p)])
    return out.getvalue()


def json_text(results: Sequence[Ranked]) -> str:
    """A list of {path, predictions: [{class, probability}, ...]}, most probable first."""
    data = [
        {
            "path": result.path,
            "predictions": [
                {"class": name, "probability": probability(p)} for name, p in result.top
            ],
        }
        for result in results
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(results: Sequence[Ranked], fmt: Format) -> str:
    if fmt == "table":
        return table(results)
    if fmt == "csv":
        return csv_text(results)
    if fmt == "json":
        return json_text(results)
    raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
