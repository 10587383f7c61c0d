"""Fixtures shared across the test tree: tiny datasets and throwaway DVC projects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What a copy of the project needs to run its pipeline (no data, no outputs, no venv).
PROJECT_FILES = (
    "stages",
    "imgflow",
    "pipelines",
    "dvc.yaml",
    "params.yaml",
    ".dvcignore",
    ".gitignore",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the other end-to-end ones: in `make test`'s two workers a
    long file handed out last would run alone at the end while the other worker idles."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("long") is None,
            item.get_closest_marker("e2e") is None,
        )
    )


def write_png(path: Path, value: int, size: tuple[int, int] = (12, 10), mode: str = "RGB") -> Path:
    """A small solid-ish image; `value` varies the content so hashes differ."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    channels = 3 if mode == "RGB" else 1
    pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze(), mode=mode).save(path)
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """3 classes x 6 images in <class>/<image> layout."""
    root = tmp_path / "images"
    for c, name in enumerate(("cat", "dog", "owl")):
        for i in range(6):
            write_png(root / name / f"{i}.png", value=100 * c + i)
    return root


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=imgflow tests", "-c", "user.email=tests@imgflow.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run DVC from this interpreter's environment, with its `python` first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "imgflow tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@imgflow.invalid"
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, text=True, capture_output=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def init_repo(root: Path) -> None:
    """Make `root` a git + DVC repository with one commit (DVCLive needs a commit)."""
    git("init", "-q", cwd=root)
    dvc("init", "-q", cwd=root)
    dvc("config", "core.analytics", "false", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "init", cwd=root)


def copy_project(root: Path) -> Path:
    """Make `root` a fresh git + DVC repository holding the project's code and pipeline."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    init_repo(root)
    return root


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount a real tmpfs of a given size (and read-only if asked) under tmp_path.

    Needs root, as in CI; elsewhere the test is skipped with the reason."""
    mounted: list[Path] = []

    def mount(name: str, size_kb: int = 64, read_only: bool = False) -> Path:
        point = tmp_path / name
        point.mkdir()
        options = f"size={size_kb}k" + (",ro" if read_only else "")
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], capture_output=True)
