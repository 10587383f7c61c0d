"""imgflow/inference/output.py: predict's table, CSV and JSON."""

import csv
import io
import json

import numpy as np
import pytest

from imgflow.inference.output import probability, render
from imgflow.inference.ranking import Ranked

RESULTS = [
    Ranked("cats/whiskers.png", (("cat", 0.875), ("dog", 0.125))),
    Ranked("d.jpg", (("dog", 0.5), ("cat", 0.5))),
]


def test_table_has_a_header_and_one_aligned_row_per_file() -> None:
    lines = render(RESULTS, "table").splitlines()
    assert lines[0].split() == ["file", "top-1", "top-2"]
    assert lines[1].split() == ["cats/whiskers.png", "cat", "0.8750", "dog", "0.1250"]
    assert lines[2].split() == ["d.jpg", "dog", "0.5000", "cat", "0.5000"]
    # every rank's column starts at the same place in every row
    assert lines[1].index("cat ") == lines[2].index("dog ") == lines[0].index("top-1")


def test_csv_has_one_row_per_file_and_rank() -> None:
    rows = list(csv.DictReader(io.StringIO(render(RESULTS, "csv"))))
    assert [(r["path"], r["rank"], r["class"]) for r in rows] == [
        ("cats/whiskers.png", "1", "cat"),
        ("cats/whiskers.png", "2", "dog"),
        ("d.jpg", "1", "dog"),
        ("d.jpg", "2", "cat"),
    ]
    assert float(rows[0]["probability"]) == 0.875


def test_json_lists_each_files_predictions_most_probable_first() -> None:
    data = json.loads(render(RESULTS, "json"))
    assert data[0] == {
        "path": "cats/whiskers.png",
        "predictions": [
            {"class": "cat", "probability": 0.875},
            {"class": "dog", "probability": 0.125},
        ],
    }
    assert len(data) == 2


def test_no_results_give_an_empty_json_list() -> None:
    assert json.loads(render([], "json")) == []


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="format: expected one of table, csv, json, got 'xml'"):
        render(RESULTS, "xml")  # type: ignore[arg-type]


def test_probability_is_the_shortest_decimal_of_the_float32_value() -> None:
    value = float(np.float32(0.1))  # 0.10000000149011612 as a float64
    assert probability(value) == 0.1 and np.float32(probability(value)) == np.float32(value)
