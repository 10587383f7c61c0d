"""Keep a stage's previous outputs while DVC reruns it, and put them back if the run fails.

DVC deletes a stage's outputs before it runs the stage's command, so an interrupted or failed
run would otherwise leave nothing. Before each stage the runner hard-links the outputs that
exist into .dvc/tmp/imgflow-keep/<stage>/ (no copy of the bytes); after a failure it moves
back each one the stage did not write anew, which is what dvc.lock still records; after a
success it drops them. A run killed outright leaves them there, and the next run's
`recover_kept` puts them back before anything else, and `sweep_temps` removes the temp files
its atomic writers left (a stage also removes its own when it next runs, but DVC may restore
the stage's outputs from its cache instead of running it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml
import zc.lockfile

from imgflow.common.artifacts import sweep_stale_temps

KEEP_ROOT = Path(".dvc") / "tmp" / "imgflow-keep"


def stage_outputs(project: Path, stage: str) -> list[str]:
    """Every path dvc.yaml declares as the stage's outs, metrics or plots."""
    spec = yaml.safe_load((project / "dvc.yaml").read_text())["stages"].get(stage, {})
    paths = []
    for kind in ("outs", "metrics", "plots"):
        for entry in spec.get(kind, []):
            paths.append(next(iter(entry)) if isinstance(entry, dict) else entry)
    return paths


def _link_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, dest, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, dest)


def _link_or_copy(source: str | Path, dest: str | Path) -> None:
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copy2(source, dest, follow_symlinks=False)


def keep(project: Path, stage: str) -> None:
    """Hard-link the stage's existing outputs aside, replacing what an earlier run kept."""
    root = project / KEEP_ROOT / stage
    shutil.rmtree(root, ignore_errors=True)
    for rel in stage_outputs(project, stage):
        source = project / rel
        if source.exists() or source.is_symlink():
            _link_copy(source, root / rel)


def restore(project: Path, stage: str) -> list[str]:
    """Move back each kept output that is missing now; drop the rest. The restored paths."""
    root = project / KEEP_ROOT / stage
    restored = []
    for rel in stage_outputs(project, stage):
        kept, target = root / rel, project / rel
        if (kept.exists() or kept.is_symlink()) and not (target.exists() or target.is_symlink()):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, target)
            restored.append(rel)
    discard(project, stage)
    return restored


def discard(project: Path, stage: str) -> None:
    shutil.rmtree(project / KEEP_ROOT / stage, ignore_errors=True)


def recover_kept(project: Path) -> dict[str, list[str]]:
    """Restore what a killed run kept (stage -> restored paths) and clear the keep folder."""
    root = project / KEEP_ROOT
    stages = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    found = {stage: restore(project, stage) for stage in stages}
    return {stage: paths for stage, paths in found.items() if paths}


DVC_LOCK = Path(".dvc") / "tmp" / "lock"


def sweep_temps(project: Path) -> list[Path]:
    """Remove every declared output's stale temp files, while no DVC process runs here (its
    repo lock is free): a running stage's temps are live."""
    try:
        lock = zc.lockfile.LockFile(str(project / DVC_LOCK))
    except (zc.lockfile.LockError, OSError):
        return []
    try:
        stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
        outputs = [project / rel for stage in stages for rel in stage_outputs(project, stage)]
        return sweep_stale_temps(*outputs)
    finally:
        lock.close()
