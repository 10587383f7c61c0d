"""pyproject.toml installs one top-level name, `imgflow`, with every sub-package in it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_library_folder_is_an_installed_package() -> None:
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "imgflow").rglob("__init__.py")
    }
    assert folders | {"imgflow.pipelines"} == set(SETUPTOOLS["packages"])


def test_only_imgflow_is_installed_at_the_top_level() -> None:
    assert {name.split(".")[0] for name in SETUPTOOLS["packages"]} == {"imgflow"}


def test_pipelines_folder_is_installed_as_imgflow_pipelines() -> None:
    assert SETUPTOOLS["package-dir"] == {"imgflow.pipelines": "pipelines"}
    import imgflow.pipelines.cli as cli

    assert Path(cli.__file__).resolve() == ROOT / "pipelines" / "cli.py"
