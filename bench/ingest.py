"""Benchmark: download + validate + resize + split on an image archive, against a plain decode.

    python bench/ingest.py [--archive ../shared/data/cifar10-jpg.tar.gz] [--max-per-class N]
                           [--repeats N]

Measured side by side in one run on the same machine, alternately:
  baseline   every image decoded once with Pillow in one process (files already extracted),
             before the first run of the stages and after each
  stages     each ingest stage run as the pipeline runs it (`python -m stages.<name>`), timed
             separately, with the peak memory of its whole process tree (pool workers included),
             `--repeats` times (default 3) from a fresh copy of the project
The ratio is the median total of the stages over the median baseline: on a shared 2-core host
single runs of either move by 20% (and each run's own ratio is recorded too).
The target (issue 3): stages together <= 3x baseline, peak memory < 2 GB.
Results go to bench/results/ingest-<timestamp>.json with the machine and library versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from PIL import Image

from imgflow.common.hardware import detect

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
STAGE_COMMANDS = {
    "download": ["data/raw"],
    "validate": ["data/raw", "data/interim/manifest.parquet", "reports/validation.json"],
    "resize": [
        "data/raw",
        "data/interim/manifest.parquet",
        "data/interim/images.npy",
        "data/interim/index.parquet",
        "data/interim/input.json",
    ],
    "split": [
        "data/interim/images.npy",
        "data/interim/index.parquet",
        "data/processed",
        "reports/split.json",
    ],
}
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            rss[pid] = int(fields[21]) * PAGE
            children.setdefault(ppid, []).append(pid)
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_measured(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak process-tree memory (sampled every 50 ms) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited with {code}")
    return seconds, peak


def baseline_decode(folder: Path) -> tuple[float, int]:
    """Seconds to open and fully decode every file once, one process; and the image count."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    started = time.perf_counter()
    for path in files:
        with Image.open(path) as image:
            image.load()
    return time.perf_counter() - started, len(files)


def prepare_project(archive: Path, max_per_class: int | None) -> Path:
    project = WORK / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for name in ("stages", "imgflow", "params.yaml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["source"] = str(archive)
    params["data"]["max_per_class"] = max_per_class
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return project


StageFigures = dict[str, dict[str, float]]  # stage -> seconds, peak_rss_mb


def run_stages(project: Path) -> StageFigures:
    """Each ingest stage once, in order, as the pipeline runs it."""
    stages = {}
    for stage, stage_args in STAGE_COMMANDS.items():
        seconds, peak = run_measured(
            [sys.executable, "-m", f"stages.{stage}", *stage_args], project
        )
        stages[stage] = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1)}
        print(f"{stage:>9}: {seconds:6.2f}s  peak {peak / 2**20:7.1f} MB")
    return stages


def stages_total(stages: StageFigures) -> float:
    return sum(figures["seconds"] for figures in stages.values())


def machine() -> dict[str, object]:
    """The CPU the figures were measured on: sessions do not always get the same one."""
    return detect().describe()


def versions() -> dict[str, str]:
    import numpy
    import pandas
    import PIL
    import pyarrow

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pillow": PIL.__version__,
        "pyarrow": pyarrow.__version__,
    }


def write_result(name: str, result: dict[str, object]) -> Path:
    """bench/results/<name>-<UTC timestamp>.json: one file a run, never overwritten."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the stages (median)")
    args = parser.parse_args()
    if args.repeats < 1:
        raise SystemExit(f"--repeats: needs at least 1, got {args.repeats}")
    if not args.archive.exists():
        raise SystemExit(f"{args.archive}: archive not found")

    extracted = WORK / "extracted"
    shutil.rmtree(extracted, ignore_errors=True)
    with tarfile.open(args.archive) as tar:
        tar.extractall(extracted, filter="data")
    load_before = os.getloadavg()[0]
    before, n_files = baseline_decode(extracted)
    print(f"baseline: decoded {n_files} files in {before:.2f}s (one process)")

    baselines = [before]
    runs: list[StageFigures] = []
    for repeat in range(args.repeats):
        runs.append(run_stages(prepare_project(args.archive, args.max_per_class)))
        after, _ = baseline_decode(extracted)
        baselines.append(after)
        print(f"run {repeat + 1}: {stages_total(runs[-1]):.2f}s; baseline again {after:.2f}s")
    shutil.rmtree(extracted)
    baseline_seconds = statistics.median(baselines)
    totals = [stages_total(run) for run in runs]
    total = statistics.median(totals)
    medians = {
        stage: {
            "seconds": round(statistics.median(r[stage]["seconds"] for r in runs), 2),
            "peak_rss_mb": max(r[stage]["peak_rss_mb"] for r in runs),
        }
        for stage in STAGE_COMMANDS
    }
    peak_mb = max(figures["peak_rss_mb"] for figures in medians.values())
    # Each run against the mean of the baselines just before and after it.
    run_ratios = [
        round(t / ((baselines[i] + baselines[i + 1]) / 2), 2) for i, t in enumerate(totals)
    ]
    result = {
        "benchmark": "ingest",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive": str(args.archive),
        "max_per_class": args.max_per_class,
        "images": n_files,
        "baseline_decode_seconds": round(baseline_seconds, 2),
        "baseline_runs_seconds": [round(b, 2) for b in baselines],
        "load_average_1min_at_start": round(load_before, 2),
        "repeats": args.repeats,
        "stages": medians,
        "stages_total_seconds": round(total, 2),
        "ratio_to_baseline": round(total / baseline_seconds, 2),
        "stages_total_runs_seconds": [round(t, 2) for t in totals],
        "ratio_runs": run_ratios,
        "runs": runs,
        "peak_rss_mb": peak_mb,
        "targets": {"ratio_to_baseline": 3.0, "peak_rss_mb": 2048},
        "machine": machine(),
        "versions": versions(),
    }
    out = write_result("ingest", result)
    print(f"total {total:.2f}s = {total / baseline_seconds:.2f}x baseline; peak {peak_mb:.0f} MB")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
