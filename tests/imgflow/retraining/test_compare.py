"""imgflow/retraining/compare.py: the comparison tables from hand-made DVC diffs and per-class
figures (pipelines/compare.py and tests/pipelines/test_compare.py cover the I/O)."""

from __future__ import annotations

from imgflow.retraining.compare import (
    Table,
    change_text,
    class_changes,
    comparison,
    degenerate_lines,
    metrics_table,
    moved_table,
    render,
    value_text,
)


def change(old: object, new: object) -> dict[str, object]:
    return {"old": old, "new": new}


def test_values_read_as_people_read_them() -> None:
    assert [value_text(v) for v in (0.123456, 7, True, None, "flip")] == [
        "0.1235",
        "7",
        "yes",
        "-",
        "flip",
    ]


def test_changes_are_signed_for_numbers_and_blank_for_flags_and_text() -> None:
    assert [change_text(0.5, 0.25), change_text(3, 5), change_text(False, True)] == [
        "-0.2500",
        "+2",
        "",
    ]
    assert change_text(None, 0.5) == change_text("a", "b") == ""


def test_evaluates_metrics_come_first_in_its_own_order() -> None:
    diff = {
        "reports/train/metrics.json": {"eval.accuracy": change(0.5, 0.6)},
        "reports/metrics.json": {"f1_macro": change(0.4, 0.5), "accuracy": change(0.5, 0.7)},
    }
    table = metrics_table(diff, "a", "b")
    assert [row[0] for row in table.rows] == [
        "accuracy",
        "f1_macro",
        "reports/train/metrics.json:eval.accuracy",
    ]


def test_a_metrics_file_only_one_side_has_is_one_note() -> None:
    diff = {
        "reports/metrics.json": {"accuracy": change(0.5, 0.7)},
        "reports/split.json": {f"images.train.{i}": change(10, None) for i in range(10)},
    }
    table = metrics_table(diff, "main", "exp")
    assert [row[0] for row in table.rows] == ["accuracy"]
    assert table.notes == ("reports/split.json: metrics only at main (10 values)",)


def test_an_older_metrics_files_per_class_keys_are_left_out() -> None:
    diff = {"reports/metrics.json": {"per_class.cat.f1": change(0.5, None)}}
    assert metrics_table(diff, "a", "b", show_all=True).rows == ()


def test_a_degenerate_side_gets_a_warning_with_its_reason() -> None:
    diff = {
        "reports/metrics.json": {
            "degenerate": change(False, True),
            "degenerate_reason": change(None, "predicts 'cat' for 100% of the test images"),
        }
    }
    assert degenerate_lines(diff, "HEAD", "workspace") == [
        "WARNING: workspace is a degenerate model: predicts 'cat' for 100% of the test images"
    ]


def test_moved_classes_are_limited_and_the_rest_counted() -> None:
    old = {name: {"recall": 0.5, "f1": 0.5} for name in "abc"}
    new = {"a": {"recall": 0.6, "f1": 0.5}, "b": {"recall": 0.2, "f1": 0.5}, "c": old["c"]}
    table = moved_table(class_changes(old, new), "x", "y", limit=1)
    assert [row[0] for row in table.rows] == ["b"]
    assert table.notes == ("1 more moved",)


def test_datasets_without_a_common_class_say_so_and_name_each_sides() -> None:
    digits = {str(d): {"recall": 0.9, "f1": 0.9} for d in range(10)}
    cifar = {name: {"recall": 0.1, "f1": 0.1} for name in ("airplane", "automobile")}
    _, tables = comparison({}, {}, digits, cifar, "digits", "cifar")
    moved, worse = tables[2], tables[3]
    assert moved.rows == () and moved.empty == "no class in common"
    assert worse.notes == (
        "only in digits: 0, 1, 2, 3, 4 and 5 more; only in cifar: airplane, automobile",
    )


def test_markdown_escapes_a_pipe_inside_a_cell() -> None:
    table = Table("t", ("class", "f1"), (("a|b", "0.5"),))
    assert table.markdown().splitlines()[-1] == "| a\\|b | 0.5 |"


def test_an_empty_table_is_a_sentence_not_a_headless_table() -> None:
    text = render("h", [], [Table("Params changed", ("param", "a", "b"), ())], markdown=True)
    assert "|" not in text and "_none_" in text
