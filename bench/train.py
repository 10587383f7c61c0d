"""Benchmark: the whole pipeline on an image archive for one `train` preset, timed.

    python bench/train.py --preset fast [--epochs N] [--max-minutes M] [--max-per-class N]
                          [--set section.key=value ...] [--dvc]
                          [--archive ../shared/data/cifar10-jpg.tar.gz]

--archive takes an image-folder archive (the default: the shared JPEG copy of CIFAR-10) or the
publisher's own cifar-10-python.tar.gz / cifar-100-python.tar.gz, recognised by its top folder
and read by `download`'s cifar10 / cifar100 source from a file:// URL, md5-checked.

A fresh project copy in bench/work/train-<preset>/ runs download, validate, resize, split, train
and evaluate with the exact commands of dvc.yaml (`python -m stages.<name> ...`), each timed; or,
with --dvc, as one `dvc repro` of the whole pipeline (plot included) in a fresh git + DVC repo.
Recorded in bench/results/train-<preset>-<UTC timestamp>.json: test accuracy (and with
test-time augmentation when evaluate reports it), train wall time, seconds per epoch, images
per second, peak memory of the train process tree, val accuracy against cumulative minutes per
epoch, the machine and library versions. Presets' defaults apply except for the options given here.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (
    DEFAULT_ARCHIVE,
    ROOT,
    WORK,
    machine,
    run_measured,
    versions,
    write_result,
)

from imgflow.common.pipeline import STAGES
from imgflow.sources.cifar import SPECS

TIMED_STAGES = STAGES[: STAGES.index("evaluate") + 1]  # plot draws figures: not timed


def stage_commands() -> dict[str, list[str]]:
    """Each stage's command from dvc.yaml, run by this interpreter."""
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    commands = {}
    for stage in TIMED_STAGES:
        words = shlex.split(pipeline[stage]["cmd"])
        assert words[0] == "python", f"dvc.yaml stage {stage}: expected a python command"
        commands[stage] = [sys.executable, *words[1:]]
    return commands


def data_source(archive: Path) -> dict[str, str]:
    """params.yaml `data` keys that read `archive`: a CIFAR publisher archive (its one top folder
    is the publisher's) through `download`'s cifar10/cifar100 source, anything else as an
    image-folder archive."""
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            first = tar.next()  # one header: cheap even for the 60,000-file JPEG archive
        top = first.name.split("/")[0] if first else ""
        for spec in SPECS.values():
            if top == spec.folder:
                return {"source": spec.name, "url": archive.resolve().as_uri()}
    return {"source": str(archive.resolve())}


def prepare(
    preset: str,
    archive: Path,
    train: dict[str, Any],
    max_per_class: int | None,
    overrides: list[str],
) -> Path:
    project = WORK / f"train-{preset}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for code in ("stages", "imgflow"):
        shutil.copytree(ROOT / code, project / code, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "dvc.yaml", project / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data_source(archive))
    params["data"]["max_per_class"] = max_per_class
    params["train"] = train  # only what is asked: the preset's defaults fill the rest
    for override in overrides:  # section.key=value, the value read as YAML
        key, _, value = override.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return project


def run_stages(project: Path) -> dict[str, dict[str, float]]:
    stages = {}
    for stage, command in stage_commands().items():
        seconds, peak = run_measured(command, project)
        stages[stage] = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1)}
        print(f"{stage:>9}: {seconds:8.2f}s  peak {peak / 2**20:7.1f} MB", flush=True)
    return stages


def run_dvc_repro(project: Path) -> dict[str, dict[str, float]]:
    """The whole pipeline as a user runs it: `dvc repro` in a fresh git + DVC repository."""
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"  # dvc.yaml runs `python`
    identity = ["-c", "user.name=imgflow bench", "-c", "user.email=bench@imgflow.invalid"]
    # DVCLive needs a commit to compare against: it fails in a repository with none.
    for command in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        ["git", "add", "-A"],
        ["git", *identity, "commit", "-q", "-m", "benchmark project"],
    ):
        subprocess.run(command, cwd=project, check=True)
    seconds, peak = run_measured(["dvc", "repro"], project)
    print(f"dvc repro: {seconds:8.2f}s  peak {peak / 2**20:7.1f} MB", flush=True)
    return {"dvc repro": {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1)}}


def summary(project: Path, train_seconds: float, train_peak: int) -> dict[str, Any]:
    models = project / "models"
    info = json.loads((models / "train_info.json").read_text())
    info |= json.loads((models / "history.json").read_text())  # epochs, best epoch, curve
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    n_train = len(np.load(project / "data" / "processed" / "train_labels.npy"))
    epoch_seconds = info["seconds_per_epoch"]
    minutes = [round(s / 60, 3) for s in accumulate(epoch_seconds)]
    return {
        "test_accuracy": metrics.get("accuracy"),
        # present when evaluate.tta is flip or flip_translate (--set evaluate.tta=flip); with
        # tta none evaluate computes no TTA figure and these stay null
        "test_accuracy_tta_flip": metrics.get("accuracy_tta_flip"),
        # present when evaluate.tta is flip_translate (--set evaluate.tta=flip_translate)
        "test_accuracy_tta_flip_translate": metrics.get("accuracy_tta_flip_translate"),
        "train_wall_seconds": round(train_seconds, 1),
        "train_fit_seconds": info["train_seconds"],
        "epochs_run": info["epochs_run"],
        "stopped_by": info["stopped_by"],
        "best_epoch": info["best_epoch"],
        "best_val_accuracy": info["best_val_accuracy"],
        "seconds_per_epoch": epoch_seconds,
        "train_images": n_train,
        "images_per_second": round(n_train * len(epoch_seconds) / sum(epoch_seconds), 1),
        "train_peak_rss_mb": round(train_peak / 2**20, 1),
        "curve": [
            {"epoch": i + 1, "minutes": m, "val_accuracy": v}
            for i, (m, v) in enumerate(zip(minutes, info["history"]["val_accuracy"], strict=True))
        ],
        "params": info["params"],
        "precision": info["precision"],  # what mixed_precision (perhaps auto) came to
        "train_versions": info["versions"],  # tensorflow, keras as the train stage saw them
        "parameters": info["parameters"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-minutes", type=float, default=None, help="train time budget")
    parser.add_argument("--max-per-class", type=int, default=None, help="smaller data, for a check")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. train.l2=0.0005"
    )
    parser.add_argument("--dvc", action="store_true", help="run it all as one `dvc repro`")
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    args = parser.parse_args()
    if not args.archive.exists():
        raise SystemExit(f"{args.archive}: archive not found")
    train = {"model": args.preset, "epochs": args.epochs, "max_minutes": args.max_minutes}
    project = prepare(args.preset, args.archive, train, args.max_per_class, args.set)
    load_at_start = os.getloadavg()[0]
    stages = run_dvc_repro(project) if args.dvc else run_stages(project)
    timed = stages["dvc repro" if args.dvc else "train"]  # with --dvc: the whole tree's peak
    measured = summary(project, timed["seconds"], int(timed["peak_rss_mb"] * 2**20))
    if args.dvc:
        measured["train_wall_seconds"] = measured["train_fit_seconds"]
    result = {
        "benchmark": "train",
        "preset": args.preset,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive": str(args.archive),
        "max_per_class": args.max_per_class,
        "overrides": args.set,
        "via": "dvc repro" if args.dvc else "stage commands",
        **measured,
        "stages": stages,
        "load_average_1min_at_start": round(load_at_start, 2),
        "machine": machine(),
        "versions": {**versions(), **measured.pop("train_versions")},
    }
    out = write_result(f"train-{args.preset}", result)
    print(
        f"test accuracy {result['test_accuracy']}; train {measured['train_wall_seconds']}s -> {out}"
    )


if __name__ == "__main__":
    main()
