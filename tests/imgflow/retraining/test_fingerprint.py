"""imgflow/retraining/fingerprint.py: what changes the digest, and what does not."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest

from imgflow.common.errors import SourceError
from imgflow.params.loader import load_params
from imgflow.retraining.fingerprint import fingerprint, source_fingerprint
from tests.conftest import git, init_repo

PARAMS_YAML = Path(__file__).resolve().parents[3] / "params.yaml"


def data_params(source: str):
    params = load_params(PARAMS_YAML)
    return params.data.model_copy(update={"source": source})


def test_folder_fingerprint_follows_sizes_names_and_times(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    image = tmp_path / "cat" / "1.png"
    image.write_bytes(b"abc")
    first = source_fingerprint(data_params(str(tmp_path)), tmp_path)
    assert source_fingerprint(data_params(str(tmp_path)), tmp_path) == first
    os.utime(image, ns=(1, 1))
    assert source_fingerprint(data_params(str(tmp_path)), tmp_path) != first


def test_archive_fingerprint_is_its_content(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    archive.write_bytes(b"one")
    first = source_fingerprint(data_params(str(archive)), tmp_path)
    archive.write_bytes(b"two")
    assert source_fingerprint(data_params(str(archive)), tmp_path) != first


def test_url_fingerprint_uses_the_servers_validators(tmp_path: Path) -> None:
    (tmp_path / "set.zip").write_bytes(b"zip bytes")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/set.zip"
        found = source_fingerprint(data_params(url), tmp_path)
        assert found["kind"] == "url" and found["Content-Length"] == "9"
        assert "Last-Modified" in found
        with pytest.raises(SourceError, match="cannot check for changes"):
            source_fingerprint(data_params(url.replace("set.zip", "gone.zip")), tmp_path)
    finally:
        server.shutdown()


def test_missing_source_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nowhere"):
        source_fingerprint(data_params(str(tmp_path / "nowhere")), tmp_path)


def test_code_and_params_move_the_digest_but_gate_rules_do_not(tmp_path: Path) -> None:
    for path in ("stages/s.py", "imgflow/m.py", "dvc.yaml"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x = 1\n")
    init_repo(tmp_path)
    params = load_params(PARAMS_YAML)
    first = fingerprint(params, tmp_path).digest
    looser = params.model_copy(update={"gate": params.gate.model_copy(update={"min_gain": 0.5})})
    assert fingerprint(looser, tmp_path).digest == first
    longer = params.model_copy(update={"train": params.train.model_copy(update={"epochs": 99})})
    assert fingerprint(longer, tmp_path).digest != first
    (tmp_path / "imgflow" / "m.py").write_text("x = 2\n")
    git("commit", "-qam", "code", cwd=tmp_path)
    assert fingerprint(params, tmp_path).digest != first
