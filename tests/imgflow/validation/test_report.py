"""imgflow/validation/report.py and imgflow/data/stats.py: the page, size histogram, stats."""

from __future__ import annotations

import csv
import io
import math
from html import escape

import numpy as np
import pandas as pd
from PIL import Image

from imgflow.data.stats import channel_sums, channel_sums_of_each, dataset_stats, size_histogram
from imgflow.validation.report import render_html, sizes_csv, write_report_dir


def report() -> dict:
    return {
        "success": False,
        "dataset": "tiny <set>",
        "images": 3,
        "readable": 2,
        "usable": 2,
        "quarantined": 1,
        "classes": ["cat", "dog"],
        "policies": {"on_corrupt": "quarantine"},
        "checks": [
            {
                "check": "readable",
                "table": "manifest",
                "expectation": "expect_column_values_to_not_be_in_set",
                "success": False,
                "action": "quarantine",
                "blocking": False,
                "rows_checked": 3,
                "failures": ["unreadable file cat/x.jpg in class 'cat' (truncated: cut)"],
            },
            {
                "check": "count_matches_declared",
                "table": "class_counts",
                "expectation": "expect_column_pair_values_to_be_equal",
                "success": False,
                "action": "fail",
                "blocking": True,
                "rows_checked": 2,
                "failures": ["class 'dog' (split all): 1 files found, the dataset declares 2"],
            },
            {
                "check": "no_leaks",
                "table": "hash_splits",
                "expectation": "expect_column_values_to_be_unique",
                "success": True,
                "action": "fail",
                "blocking": False,
                "rows_checked": 2,
                "failures": [],
            },
        ],
        "quarantine": [
            {
                "path": "cat/x.jpg",
                "label": "cat",
                "split": None,
                "reason": "truncated",
                "error": "cut",
            }
        ],
        "class_counts": [
            {
                "split": "all",
                "label": "cat",
                "declared": 2,
                "found": 2,
                "readable": 1,
                "quarantined": 1,
                "usable": 1,
            },
        ],
        "ignored_files": ["cat/.DS_Store"],
        "image_sizes": size_histogram(pd.Series([8, 8]), pd.Series([6, 6])),
        "stats": {"images": 2, "channel_mean": {"R": 1.5}},
    }


def test_page_shows_every_check_failure_and_quarantined_file():
    page = render_html(report())
    assert "tiny &lt;set&gt;" in page  # escaped
    for outcome in report()["checks"]:
        assert outcome["check"] in page
        for failure in outcome["failures"]:
            assert escape(failure) in page
    assert "FAILED: stops the pipeline" in page
    assert "files quarantined (policy quarantine)" in page
    assert "passed" in page
    assert "cat/x.jpg" in page and "truncated" in page
    assert "cat/.DS_Store" in page
    assert "channel_mean.R" in page
    assert 'src="image_sizes.png"' in page


def shortened_report() -> dict:
    """report() as validate writes it for a source with more files than its lists hold."""
    base = report()
    quarantined = {**base["quarantine"][0], "path": "cat/x0.jpg"}
    readable = {**base["checks"][0], "failures": ["unreadable file cat/x0.jpg"] * 100}
    return base | {
        "quarantined": 500,
        "quarantine": [quarantined] * 100,
        "quarantine_more": 400,
        "quarantine_file": "data/interim/quarantine.parquet",
        "checks": [readable | {"failures_more": 400}, *base["checks"][1:]],
        "ignored_more": 7,
    }


def test_page_says_how_many_quarantined_files_are_not_listed_and_where_they_are():
    page = render_html(shortened_report())
    assert page.count("<td>cat/x0.jpg</td>") == 100
    assert (
        "... and 400 more: every quarantined file is listed in data/interim/quarantine.parquet"
    ) in page


def test_page_counts_a_checks_failures_beyond_its_list():
    page = render_html(shortened_report())
    assert "(3 rows, 500 failing)" in page
    assert page.count("<li>unreadable file cat/x0.jpg</li>") == 100


def test_page_counts_ignored_files_beyond_its_list():
    page = render_html(shortened_report())
    assert "<h2>Ignored files (8)</h2>" in page
    assert "... and 7 more: every ignored file is listed in download&#x27;s dataset.json" in page


def test_page_of_a_short_report_says_nothing_is_left_out():
    assert "... and" not in render_html(report())


def test_report_folder_holds_page_plot_and_csv(tmp_path):
    write_report_dir(report(), tmp_path / "validation")
    folder = tmp_path / "validation"
    assert sorted(p.name for p in folder.iterdir()) == [
        "image_sizes.csv",
        "image_sizes.png",
        "index.html",
    ]
    assert Image.open(folder / "image_sizes.png").format == "PNG"
    rows = list(csv.DictReader(io.StringIO((folder / "image_sizes.csv").read_text())))
    assert rows == [{k: str(v) for k, v in row.items()} for row in report()["image_sizes"]]


def test_size_histogram_counts_widths_and_heights_in_shared_bins():
    bins = size_histogram(pd.Series([8, 8, 10]), pd.Series([6, 8, 8]))
    assert bins[0] == {"bin_start": 6, "bin_end": 6, "width": 0, "height": 1}
    assert sum(b["width"] for b in bins) == 3 and sum(b["height"] for b in bins) == 3
    assert {"bin_start": 8, "bin_end": 8, "width": 2, "height": 2} in bins
    assert len(size_histogram(pd.Series(range(1000)), pd.Series(range(1000)), max_bins=40)) <= 41
    assert size_histogram(pd.Series([], dtype=int), pd.Series([], dtype=int)) == []
    assert sizes_csv([]).strip() == "bin_start,bin_end,width,height"


def test_channel_sums_treat_grey_as_equal_channels():
    rgb = channel_sums(np.asarray(Image.new("RGB", (2, 1), (10, 20, 30))))
    assert rgb == (20.0, 40.0, 60.0, 200.0, 800.0, 1800.0)
    assert channel_sums(np.asarray(Image.new("L", (1, 1), 7))) == (7.0, 7.0, 7.0, 49.0, 49.0, 49.0)


def test_channel_sums_of_each_match_one_by_one_for_mixed_images():
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (4, 5, 3), dtype=np.uint8),
        None,  # a file that did not decode
        rng.integers(0, 256, (4, 5, 3), dtype=np.uint8),  # stacked with the first
        rng.integers(0, 256, (3, 3), dtype=np.uint8),  # grey
        rng.integers(0, 256, (70, 70, 3), dtype=np.uint8),  # too big to stack
    ]
    sums = channel_sums_of_each(images)
    assert sums.shape == (5, 6)
    assert sums[1].tolist() == [0.0] * 6
    for row in (0, 2, 3, 4):
        assert sums[row].tolist() == list(channel_sums(images[row]))


def test_dataset_stats_are_numbers_in_nested_mappings():
    usable = pd.DataFrame(
        {
            "label": ["cat", "dog"],
            "split": ["train", "test"],
            "width": [2, 1],
            "height": [1, 1],
            "mode": ["RGB", "L"],
            "format": ["PNG", "JPEG"],
        }
    )
    sums = np.array(
        [
            channel_sums(np.asarray(Image.new("RGB", (2, 1), (10, 20, 30)))),
            channel_sums(np.asarray(Image.new("L", (1, 1), 40))),
        ]
    )
    stats = dataset_stats(usable, sums)
    assert stats["count"] == {"test": {"dog": 1}, "train": {"cat": 1}}
    assert stats["mode"] == {"L": 1, "RGB": 1} and stats["format"] == {"JPEG": 1, "PNG": 1}
    assert stats["channel_mean"]["R"] == 20.0  # (10 + 10 + 40) / 3 pixels
    assert math.isclose(stats["channel_std"]["R"], math.sqrt((100 + 100 + 400) / 3), abs_tol=1e-4)
    assert stats["width"] == {"min": 1, "median": 1.5, "mean": 1.5, "max": 2}

    def leaves(value):
        if isinstance(value, dict):
            return [leaf for v in value.values() for leaf in leaves(v)]
        return [value]

    assert all(isinstance(v, int | float) for v in leaves(stats))  # no lists: dvc metrics diff


def test_stats_of_no_images_are_zeros():
    empty = pd.DataFrame(columns=["label", "split", "width", "height", "mode", "format"])
    stats = dataset_stats(empty, np.zeros((0, 6)))
    assert stats["images"] == 0 and stats["channel_mean"] == {"R": 0.0, "G": 0.0, "B": 0.0}
