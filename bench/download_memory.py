"""Benchmark: download's peak memory and time on archives holding one huge member.

    python bench/download_memory.py [--huge-mib 1024] [--stored-mib 200]

Builds in bench/work/download-memory/ a zip and a tar.gz, each holding four small PNGs and one
member of zeros (a few MB compressed), and runs `python -m stages.download` on each from a fresh
project copy, recording its wall time and peak resident memory (the stage process's own maximum,
from wait4). Per archive kind:
  baseline  the four PNGs alone
  refused   plus the huge member (default 1 GiB) under the default data.max_file_bytes: set
            aside by its declared size, never read
  stored    plus a smaller member (default 200 MiB), data.max_file_bytes just above it: read
            and stored in the image table
  read      plus the huge member, data.max_file_bytes just above it: read and stored
Results go to bench/results/download-memory-<UTC timestamp>.json with the machine and library
versions.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import yaml
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, WORK, machine, versions, write_result

from imgflow.params.data import DataParams

HERE = WORK / "download-memory"
SMALL = ["cat/1.png", "cat/2.png", "dog/3.png", "dog/4.png"]
HUGE_NAME = "cat/zeros.bin"
BLOCK = 16 << 20  # bytes of zeros written per step while building an archive
DEFAULT_CAP = DataParams.model_fields["max_file_bytes"].default


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (value * 60 % 256, 90, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class Zeros(io.RawIOBase):
    """`size` zero bytes, read in whatever steps the reader asks for."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def build(kind: str, huge_bytes: int) -> Path:
    """The archive of this kind holding the small PNGs and `huge_bytes` of zeros (0: none)."""
    path = HERE / f"source-{huge_bytes >> 20}mib.{kind}"
    if path.exists():
        return path
    partial = path.with_name(path.name + ".part")
    small = {name: png(i) for i, name in enumerate(SMALL)}
    if kind == "zip":
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in small.items():
                archive.writestr(name, data)
            if huge_bytes:
                info = zipfile.ZipInfo(HUGE_NAME)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as member:
                    for start in range(0, huge_bytes, BLOCK):
                        member.write(bytes(min(BLOCK, huge_bytes - start)))
    else:
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            for name, data in small.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            if huge_bytes:
                info = tarfile.TarInfo(HUGE_NAME)
                info.size = huge_bytes
                tar.addfile(info, io.BufferedReader(Zeros(huge_bytes), BLOCK))
    os.replace(partial, path)
    return path


def prepare_project(archive: Path, max_file_bytes: int) -> Path:
    project = HERE / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for name in ("stages", "imgflow"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["source"] = str(archive)
    params["data"]["max_file_bytes"] = max_file_bytes
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return project


def run_download(project: Path) -> dict[str, object]:
    """Seconds, peak resident memory (the stage process's own maximum) and what it stored."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "stages.download", "data/raw"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"stages.download exited with {process.returncode}:\n{output}")
    raw = project / "data" / "raw"
    dataset = json.loads((raw / "dataset.json").read_text())
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "table_mb": round((raw / "images.parquet").stat().st_size / 2**20, 1),
        "images": sum(sum(c.values()) for c in dataset["declared_counts"].values()),
        "ignored": dataset["ignored"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge-mib", type=int, default=1024, help="the huge member, MiB")
    parser.add_argument("--stored-mib", type=int, default=200, help="the stored member, MiB")
    args = parser.parse_args()
    huge, smaller = args.huge_mib << 20, args.stored_mib << 20
    if not DEFAULT_CAP < smaller <= huge:
        raise SystemExit(
            f"--stored-mib and --huge-mib: need {DEFAULT_CAP >> 20} < stored <= huge MiB"
        )
    HERE.mkdir(parents=True, exist_ok=True)
    cases = [
        ("baseline", 0, DEFAULT_CAP),
        ("refused", huge, DEFAULT_CAP),
        ("stored", smaller, smaller + (1 << 20)),
        ("read", huge, huge + (1 << 20)),
    ]
    runs = []
    for kind in ("zip", "tar.gz"):
        for case, member_bytes, cap in cases:
            started = time.perf_counter()
            archive = build(kind, member_bytes)
            built = time.perf_counter() - started
            figures = run_download(prepare_project(archive, cap))
            run = {
                "archive": kind,
                "case": case,
                "member_mib": member_bytes >> 20,
                "archive_mb": round(archive.stat().st_size / 2**20, 2),
                "max_file_bytes": cap,
                **figures,
            }
            runs.append(run)
            shutil.rmtree(HERE / "project")  # a stored 1 GiB member is 1 GiB of disk
            print(
                f"{kind:>6} {case:>8}: {run['seconds']:6.2f}s  peak {run['peak_rss_mb']:7.1f} MB"
                f"  table {run['table_mb']:7.1f} MB  ({run['archive_mb']} MB archive"
                + (f", built in {built:.1f}s" if built > 1 else "")
                + ")"
            )
    result = {
        "benchmark": "download-memory",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "huge_member_mib": args.huge_mib,
        "stored_member_mib": args.stored_mib,
        "default_max_file_bytes": DEFAULT_CAP,
        "runs": runs,
        "machine": machine(),
        "versions": versions(),
    }
    print(f"-> {write_result('download-memory', result)}")


if __name__ == "__main__":
    main()
