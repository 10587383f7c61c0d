"""What a model was trained from, as one digest: the data source, the params and the code.

A scheduled retrain compares it with the champion's and stops early when nothing changed. The
source is read cheaply: a folder by its listing (names, sizes, modification times), a local
archive by its bytes, a URL by its validators (ETag, Last-Modified, length), the built-in
sources by what pins their content (scikit-learn's version, the publisher's checksum).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imgflow.common.artifacts import file_sha256
from imgflow.common.errors import SourceError
from imgflow.params.data import DataParams
from imgflow.params.loader import Params
from imgflow.sources.cifar import SPECS
from imgflow.sources.fetching import file_url_path, is_url

URL_TIMEOUT_SECONDS = 30
# What defines the trained model: the stages, the library and the pipeline's wiring.
CODE_PATHS = ("stages", "imgflow", "dvc.yaml")


@dataclass(frozen=True)
class Fingerprint:
    source: dict[str, Any]
    params: str  # sha256 of the validated params (comments and key order do not count)
    code: dict[str, str]  # git object id of each CODE_PATHS entry at the commit trained

    @property
    def digest(self) -> str:
        return sha256_json(asdict(self))

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, **asdict(self)}


def sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def fingerprint(params: Params, project: Path, rev: str = "HEAD") -> Fingerprint:
    return Fingerprint(
        source=source_fingerprint(params.data, project),
        # The gate's rules judge a model; they are not what it was trained from.
        params=sha256_json(params.model_dump(mode="json", by_alias=True, exclude={"gate"})),
        code=code_fingerprint(project, rev),
    )


def code_fingerprint(project: Path, rev: str = "HEAD") -> dict[str, str]:
    """The tree or blob id of each code path at `rev`: any committed change moves one."""
    ids = {}
    for path in CODE_PATHS:
        result = subprocess.run(
            ["git", "rev-parse", f"{rev}:{path}"], cwd=project, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SourceError(f"{project}: {path} is not committed at {rev}; commit it first")
        ids[path] = result.stdout.strip()
    return ids


def source_fingerprint(data: DataParams, project: Path) -> dict[str, Any]:
    source = data.source
    if source == "digits":
        import sklearn

        return {"kind": "digits", "scikit-learn": sklearn.__version__}
    if source in SPECS:
        spec = SPECS[source]
        return {"kind": source, "url": data.url or spec.url, "md5": data.md5 or spec.md5}
    if is_url(source) and not source.startswith("file://"):
        return url_fingerprint(source)
    path = file_url_path(source) if source.startswith("file://") else Path(source).expanduser()
    path = path if path.is_absolute() else project / path
    if path.is_dir():
        return {"kind": "folder", "listing": folder_listing(path)}
    if path.is_file():
        return {"kind": "file", "sha256": file_sha256(path)}
    raise SourceError(f"data.source: {source!r} is neither a folder nor a file")


def folder_listing(root: Path) -> str:
    """sha256 of every file's relative path, size and modification time, in name order."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            stat = path.lstat()
            rel = path.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
            digest.update(rel + f"\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def url_fingerprint(url: str) -> dict[str, Any]:
    """The server's validators for `url` (a HEAD request); none at all fails, naming the URL."""
    import requests

    try:
        response = requests.head(url, allow_redirects=True, timeout=URL_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SourceError(f"data.source: {url}: cannot check for changes ({exc})") from None
    validators = {
        key: response.headers[key]
        for key in ("ETag", "Last-Modified", "Content-Length")
        if key in response.headers
    }
    if not validators:
        raise SourceError(
            f"data.source: {url} sends no ETag, Last-Modified or Content-Length: "
            "a change cannot be seen, so retrain with --force"
        )
    return {"kind": "url", "url": url, **validators}
