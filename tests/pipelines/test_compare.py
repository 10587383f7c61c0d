"""`imgflow compare` on a small git + DVC repository with two hand-made runs: the params, metrics
and per-class figures each commit holds are known, so every delta is."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgflow.pipelines.cli import main
from tests.conftest import dvc, git, init_repo

DVC_YAML = {"params": ["params.yaml"], "metrics": ["reports/metrics.json"]}


def figures(recall: float, f1: float, grade: str = "acceptable") -> dict[str, Any]:
    return {"precision": 0.9, "recall": recall, "f1": f1, "support": 10, "grade": grade}


FIRST = {
    "params": {"train": {"epochs": 8, "model": "cnn_basic"}},
    "metrics": {"accuracy": 0.9, "f1_macro": 0.85, "test_images": 100, "degenerate": False},
    "per_class": {
        "cat": figures(0.9, 0.9),
        "dog": figures(0.8, 0.8),
        "owl": figures(0.7, 0.7),
    },
}
SECOND = {
    "params": {"train": {"epochs": 2, "model": "cnn_basic"}},
    "metrics": {"accuracy": 0.8, "f1_macro": 0.75, "test_images": 100, "degenerate": False},
    "per_class": {
        "cat": figures(0.6, 0.7, "failing"),  # worse: recall -0.3
        "dog": figures(0.9, 0.85),  # better: recall +0.1
        "owl": figures(0.7, 0.7),  # unchanged
    },
}


def write_run(root: Path, run: dict[str, Any], per_class_file: bool = True) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(run["params"]))
    (root / "reports").mkdir(exist_ok=True)
    metrics = dict(run["metrics"])
    if per_class_file:
        (root / "reports" / "per_class.json").write_text(json.dumps(run["per_class"]))
    else:  # the layout before per_class.json: the figures inside metrics.json
        metrics["per_class"] = run["per_class"]
    (root / "reports" / "metrics.json").write_text(json.dumps(metrics))


def commit(root: Path, message: str) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-qm", message, cwd=root)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HEAD~1: the first run; HEAD: the second (fewer epochs, worse cat, better dog)."""
    root = tmp_path_factory.mktemp("compare") / "repo"
    root.mkdir()
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    init_repo(root)
    write_run(root, FIRST)
    commit(root, "first run")
    write_run(root, SECOND)
    commit(root, "second run")
    return root


def compare(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["compare", "--project-dir", str(root), *args]) == 0
    return capsys.readouterr().out


def row(output: str, first_cell: str) -> list[str]:
    """The cells of the text table row that starts with `first_cell`."""
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


def section(output: str, title: str) -> str:
    """The text of one table, from its title to the next blank line."""
    start = output.index(title)
    end = output.find("\n\n", start)
    return output[start : end if end != -1 else None]


def test_changed_params_show_both_values(runs: Path, capsys) -> None:
    out = compare(runs, capsys, "HEAD~1", "HEAD")
    assert row(out, "train.epochs") == ["train.epochs", "8", "2"]
    assert "train.model" not in out  # unchanged


def test_metrics_show_both_values_and_the_change(runs: Path, capsys) -> None:
    out = compare(runs, capsys, "HEAD~1", "HEAD")
    assert row(out, "accuracy") == ["accuracy", "0.9000", "0.8000", "-0.1000"]
    assert row(out, "f1_macro") == ["f1_macro", "0.8500", "0.7500", "-0.1000"]


def test_unchanged_metrics_are_hidden_unless_asked_for(runs: Path, capsys) -> None:
    assert "test_images" not in compare(runs, capsys, "HEAD~1", "HEAD")
    assert row(compare(runs, capsys, "HEAD~1", "HEAD", "--all"), "test_images")[1:] == [
        "100",
        "100",
        "+0",
    ]


def test_classes_that_moved_most_come_largest_first(runs: Path, capsys) -> None:
    moved = section(compare(runs, capsys, "HEAD~1", "HEAD"), "Classes that moved most")
    names = [line.split()[0] for line in moved.splitlines()[2:]]
    assert names == ["cat", "dog"]  # owl did not move
    assert row(moved, "dog") == [
        "dog",
        "0.8000",
        "0.9000",
        "+0.1000",
        "0.8000",
        "0.8500",
        "+0.0500",
    ]


def test_classes_that_got_worse_are_listed_with_their_grade(runs: Path, capsys) -> None:
    worse = section(compare(runs, capsys, "HEAD~1", "HEAD"), "Classes that got worse")
    assert row(worse, "cat") == ["cat", "-0.3000", "-0.2000", "acceptable", "->", "failing"]
    assert "dog" not in worse


def test_default_compares_head_with_the_workspace(runs: Path, capsys) -> None:
    metrics = runs / "reports" / "metrics.json"
    committed = metrics.read_text()
    metrics.write_text(json.dumps({**SECOND["metrics"], "accuracy": 0.95}))
    try:
        out = compare(runs, capsys)
    finally:
        metrics.write_text(committed)
    assert out.startswith("imgflow compare: HEAD -> workspace")
    assert row(out, "accuracy") == ["accuracy", "0.8000", "0.9500", "+0.1500"]


def test_a_dvc_experiment_is_named_by_its_name(runs: Path, capsys) -> None:
    metrics = runs / "reports" / "metrics.json"
    committed = metrics.read_text()
    metrics.write_text(json.dumps({**SECOND["metrics"], "accuracy": 0.7}))
    try:
        dvc("exp", "save", "--name", "fewer-epochs", cwd=runs)
    finally:
        metrics.write_text(committed)
    out = compare(runs, capsys, "HEAD", "fewer-epochs")
    assert row(out, "accuracy") == ["accuracy", "0.8000", "0.7000", "-0.1000"]


def test_a_run_from_before_per_class_json_compares_its_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    init_repo(root)
    write_run(root, FIRST, per_class_file=False)
    commit(root, "old layout")
    write_run(root, SECOND)
    commit(root, "new layout")
    out = compare(root, capsys, "HEAD~1", "HEAD")
    assert row(section(out, "Classes that got worse"), "cat")[1:3] == ["-0.3000", "-0.2000"]
    assert "per_class." not in out  # the old file's per-class keys are not overall metrics


def markdown_tables(text: str) -> list[list[str]]:
    """Each run of lines starting with `|`, as a list of lines."""
    tables: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous:
                tables.append([])
            tables[-1].append(line)
        previous = line.startswith("|")
    return tables


def cells(line: str) -> list[str]:
    """A Markdown row's cells: split on pipes not escaped with a backslash."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def test_md_prints_valid_markdown_tables(runs: Path, capsys) -> None:
    out = compare(runs, capsys, "HEAD~1", "HEAD", "--md")
    tables = markdown_tables(out)
    assert len(tables) == 4  # params, metrics, moved, worse: none of them empty here
    for table in tables:
        header, separator, *rows = table
        assert rows, table
        width = len(cells(header))
        assert all(re.fullmatch(r" ?:?-{3,}:? ?", cell) for cell in cells(separator)), separator
        assert len(cells(separator)) == width
        assert all(len(cells(line)) == width for line in rows), table


def test_md_keeps_each_table_apart_from_the_text_around_it(runs: Path, capsys) -> None:
    lines = compare(runs, capsys, "HEAD~1", "HEAD", "--md").splitlines()
    for before, line in zip(lines, lines[1:], strict=False):
        if line.startswith("|") and not before.startswith("|"):
            assert before == "", f"a table must follow a blank line, not {before!r}"


def test_an_unknown_revision_is_one_line_naming_it(runs: Path, capsys) -> None:
    assert main(["compare", "--project-dir", str(runs), "HEAD", "no-such-run"]) == 1
    assert capsys.readouterr().err == (
        "imgflow: compare: no-such-run: not a git revision or a DVC experiment name\n"
    )


def test_the_workspace_cannot_be_the_first_run(runs: Path, capsys) -> None:
    assert main(["compare", "--project-dir", str(runs), "workspace", "HEAD"]) == 1
    assert "the workspace can only be REV_B" in capsys.readouterr().err


def test_a_per_class_figure_that_is_not_a_number_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    init_repo(root)
    write_run(root, FIRST)
    commit(root, "first run")
    (root / "reports" / "per_class.json").write_text('{"cat": {"recall": "high", "f1": 0.5}}')
    assert main(["compare", "--project-dir", str(root)]) == 1
    assert capsys.readouterr().err == (
        "imgflow: compare: workspace:reports/per_class.json: class 'cat': recall must be a "
        "number, got 'high'\n"
    )


def test_classes_shown_must_be_at_least_one(runs: Path, capsys) -> None:
    assert main(["compare", "--project-dir", str(runs), "--classes", "0"]) == 1
    assert capsys.readouterr().err == "imgflow: compare: --classes 0: expected 1 or more\n"
