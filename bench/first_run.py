"""Benchmark: the first `make run` on a fresh clone, one git revision against another.

    python bench/first_run.py [--revs BASE NEW [NEW ...]] [--repeats N]

Clones the project's repository once per revision into bench/work/first-run/<rev>/ and runs
`make run` there from nothing: the virtual environment set up from requirements.lock (packages
from uv's cache, so the network is not timed), then the whole pipeline on digits. The revisions
alternate run by run on the same machine, so a slower spell of a shared host falls on all.
Recorded per run: wall seconds of `make run`, of its setup (`make setup`) and of its pipeline
(the rest), the test accuracy, the epochs trained and train's own seconds; then the median of each
revision and each NEW's median minus BASE's. Results go to bench/results/first-run-<UTC>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, WORK, machine, versions, write_result

HERE = WORK / "first-run"


def fresh_clone(rev: str, folder: Path) -> str:
    """A clean clone of the project's repository at `rev`; its full commit id."""
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder)], check=True)
    subprocess.run(["git", "checkout", "--quiet", rev], cwd=folder, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, check=True, capture_output=True, text=True
    )
    return head.stdout.strip()


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}")
    return seconds


def one_run(rev: str, folder: Path) -> dict[str, object]:
    commit = fresh_clone(rev, folder)
    # `make setup` then the pipeline, as `make run` does them, each timed.
    setup = timed(["make", "setup"], folder)
    pipeline = timed(["make", "run"], folder)
    metrics = json.loads((folder / "reports" / "metrics.json").read_text())
    info = json.loads((folder / "models" / "train_info.json").read_text())
    history = json.loads((folder / "models" / "history.json").read_text())
    return {
        "rev": rev,
        "commit": commit,
        "make_run_seconds": round(setup + pipeline, 1),
        "setup_seconds": round(setup, 1),
        "pipeline_seconds": round(pipeline, 1),
        "accuracy": metrics["accuracy"],
        "epochs_run": history["epochs_run"],
        "train_seconds": info["train_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revs", nargs="+", default=["HEAD~1", "HEAD"], help="BASE NEW [NEW ...]")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for repeat in range(args.repeats):
        for rev in args.revs:
            run = one_run(rev, HERE / rev.replace("/", "_").replace("~", "-"))
            run["repeat"] = repeat
            runs.append(run)
            print(json.dumps(run))
    medians = {
        rev: {
            key: statistics.median(r[key] for r in runs if r["rev"] == rev)
            for key in ("make_run_seconds", "pipeline_seconds", "train_seconds", "accuracy")
        }
        for rev in args.revs
    }
    base = args.revs[0]
    growth = {
        rev: round(medians[rev]["make_run_seconds"] - medians[base]["make_run_seconds"], 1)
        for rev in args.revs[1:]
    }
    result = {
        "benchmark": "first-run",
        "revs": args.revs,
        "runs": runs,
        "medians": medians,
        "make_run_growth_seconds": growth,
        "machine": machine(),
        "versions": versions(),
    }
    out = write_result("first-run", result)
    for rev, seconds in growth.items():
        print(f"{rev} - {base}: {seconds:+.1f} s of make run")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
