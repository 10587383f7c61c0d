"""Helpers for tests that run the real pipeline in a copy of the project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def set_params(project: Path, **dotted: Any) -> None:
    """Edit params.yaml in place: set_params(p, **{"train.epochs": 2})."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for key, value in dotted.items():
        section, name = key.split(".")
        params[section][name] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def declared_outputs(project: Path) -> list[Path]:
    """Every out and metrics file dvc.yaml declares, plus the top-level metrics."""
    spec = yaml.safe_load((project / "dvc.yaml").read_text())
    paths = list(spec.get("metrics", []))
    for stage in spec["stages"].values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                paths.append(next(iter(entry)) if isinstance(entry, dict) else entry)
    return [project / p for p in paths]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state letter


def descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        parent = parent_of(pid)
        if parent is None:
            return False
        pid = parent
    return False


def stage_process(stage: str, under: int) -> int | None:
    """The pid of a running `python -m stages.<stage>` started (at any depth) by process
    `under`, if there is one: other tests may be running the same stage beside this one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        named = f"stages.{stage}".encode() in cmdline.split(b"\0")
        if named and descends_from(int(entry.name), under):
            return int(entry.name)
    return None
