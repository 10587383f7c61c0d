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


def stage_process(stage: str) -> int | None:
    """The pid of a running `python -m stages.<stage>`, if there is one."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"stages.{stage}".encode() in cmdline.split(b"\0"):
            return int(entry.name)
    return None
