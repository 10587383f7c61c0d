"""imgflow/retraining/champion.py: reading the champion branch's reports, in either layout."""

from __future__ import annotations

import json
from pathlib import Path

from imgflow.retraining.champion import read_champion
from tests.conftest import git

METRICS = {"accuracy": 0.9, "f1_macro": 0.8}
PER_CLASS = {"cat": {"precision": 1.0, "recall": 0.8, "f1": 0.7, "support": 3}}


def champion_repo(root: Path, files: dict[str, object]) -> Path:
    """A git repository whose `champion` branch holds `files` (path -> JSON content)."""
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(json.dumps(content))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "champion", cwd=root)
    git("branch", "champion", cwd=root)
    return root


def test_champion_carries_its_per_class_json(tmp_path: Path) -> None:
    files = {"reports/metrics.json": METRICS, "reports/per_class.json": PER_CLASS}
    champion = read_champion(champion_repo(tmp_path / "repo", files), "champion")
    assert champion is not None
    assert (champion.metrics, champion.per_class) == (METRICS, PER_CLASS)


def test_champion_from_before_per_class_json_has_none(tmp_path: Path) -> None:
    files = {"reports/metrics.json": {**METRICS, "per_class": PER_CLASS}}
    champion = read_champion(champion_repo(tmp_path / "repo", files), "champion")
    assert champion is not None and champion.per_class is None
