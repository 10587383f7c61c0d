"""A toy DVC project with the pipeline's seven stage names, each a one-line command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from imgflow.common.pipeline import STAGES
from imgflow.pipelines.cli import PREFECT_DEFAULTS
from tests.conftest import init_repo


def toy_stage_cmd(stage: str) -> str:
    return f"python -c \"open('out/{stage}.txt', 'w').write('{stage}')\""


@pytest.fixture
def toy_project(tmp_path: Path) -> Path:
    """Each stage writes out/<stage>.txt and depends on the previous stage's file."""
    root = tmp_path / "toy"
    (root / "out").mkdir(parents=True)
    (root / "out" / ".gitkeep").touch()
    stages = {}
    for previous, stage in zip((None, *STAGES), STAGES, strict=False):
        stages[stage] = {
            "cmd": toy_stage_cmd(stage),
            "deps": [f"out/{previous}.txt"] if previous else [],
            "outs": [f"out/{stage}.txt"],
        }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    init_repo(root)
    return root


# Package scope, not session: the harness's exit drains Prefect's events worker, whose websocket
# keepalive pings (every 20 s, from Prefect's event-loop thread) draw from Python's global
# `random`. Left running through tests/stages, a ping that lands while Keras builds a model
# changes the default seeds of its later layers, and same-seed runs then differ. The scope ends
# with this directory because its __init__.py makes it a package.
@pytest.fixture(scope="package")
def prefect_harness() -> Iterator[None]:
    """One throwaway Prefect API (temporary SQLite) for every flow test in tests/pipelines."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
