"""stages/download.py: main() fetches the configured source into data/raw."""

from __future__ import annotations

from pathlib import Path

import stages.download as download
from tests.imgflow.sources.helpers import stored, write_tree


def test_main_writes_raw_from_params_file(tmp_path, capsys):
    source = tmp_path / "src"
    write_tree(source, ["cat/1.png", "dog/2.png"])
    params_file = tmp_path / "params.yaml"
    shipped = Path(__file__).resolve().parents[2] / "params.yaml"
    params_file.write_text(shipped.read_text().replace("source: digits", f"source: {source}", 1))
    download.main([str(tmp_path / "raw"), "--params", str(params_file)])
    assert sorted(stored(tmp_path / "raw")) == ["cat/1.png", "dog/2.png"]
    assert "2 images in 2 classes" in capsys.readouterr().out
