"""Test helpers for the download sources: a local HTTP server and publisher-format CIFAR archives.

The publisher URLs cannot be reached from tests, so the real download code runs against
archives built here in the publisher's exact layout, served from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
# A few of CIFAR-100's real names; the parser takes the lists from the meta file, whatever length.
CIFAR100_FINE = ["apple", "aquarium_fish", "baby", "bear", "beaver"]
CIFAR100_COARSE = ["fruit_and_vegetables", "fish", "people", "large_carnivores"]
FINE_TO_COARSE = [0, 1, 2, 3, 3]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- HTTP server ----------------------------------------------------------------------------


@dataclass
class FileServer:
    """What the server serves and what it was asked: path -> body; one (path, Range) per GET.

    Each reply carries the body's ETag (`etag`); an If-Range that is not the current ETag gets
    the whole file (200), as a real server does once the file has changed.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    if_ranges: list[str | None] = field(default_factory=list)  # one If-Range header per GET
    replies: list[int] = field(default_factory=list)  # one status per GET
    etags: bool = True  # send an ETag (a server without one gives nothing to resume against)
    drop_once: set[str] = field(default_factory=set)  # send half the body, then hang up, once
    status: dict[str, int] = field(default_factory=dict)  # path -> forced error status
    ranges: bool = True  # honour Range requests (some servers do not)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


def etag(body: bytes) -> str:
    """The strong ETag the test server sends for `body`: it changes when the content does."""
    return f'"{sha256(body)[:16]}"'


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        state.requests.append((self.path, range_header))
        state.if_ranges.append(if_range)
        if self.path in state.status:
            self.reply_error(state.status[self.path])
            return
        body = state.files.get(self.path)
        if body is None:
            self.reply_error(404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        # If-Range: the range only if the client's copy is of this very file (RFC 9110 13.1.5).
        same_file = if_range is None or (state.etags and if_range == etag(body))
        if match and state.ranges and same_file:
            start = int(match.group(1))
            if start >= len(body):
                self.reply_error(416)
                return
            self.reply(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.reply(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes" if state.ranges else "none")
        if state.etags:
            self.send_header("ETag", etag(body))
        self.end_headers()
        if self.path in state.drop_once:
            state.drop_once.discard(self.path)
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def reply(self, status: int) -> None:
        self.server.state.replies.append(status)
        self.send_response(status)

    def reply_error(self, status: int) -> None:
        self.server.state.replies.append(status)
        self.send_error(status)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FileServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def serve(files: dict[str, bytes] | None = None) -> Iterator[FileServer]:
    """A threaded HTTP server on 127.0.0.1 serving `files` ({"/name": bytes})."""
    state = FileServer(files=dict(files or {}))
    server = _Server(state)
    state.port = server.server_address[1]
    # A short poll interval: shutdown() waits up to one interval, in every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- CIFAR archives in the publisher's format -----------------------------------------------


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_rows(labels: list[int], seed: int) -> np.ndarray:
    """uint8 N x 3072 rows (R, G, B planes of 32x32, row-major), random but reproducible."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)


def _pickle(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=2)  # the publisher's protocol


def cifar10_archive(train_per_batch: int = 1, test_per_class: int = 2) -> tuple[bytes, dict]:
    """A cifar-10-python.tar.gz: 5 data batches of `train_per_batch` images per class, one test
    batch. Returns the archive and {split: (rows, labels)} to compare against."""
    members: dict[str, bytes] = {}
    truth: dict[str, tuple[list[np.ndarray], list[int]]] = {"train": ([], []), "test": ([], [])}
    n = len(CIFAR10_NAMES)
    batches = [(f"data_batch_{i}", "train", train_per_batch) for i in range(1, 6)]
    for seed, (name, split, per_class) in enumerate(
        [*batches, ("test_batch", "test", test_per_class)]
    ):
        labels = [i % n for i in range(per_class * n)]
        rows = cifar_rows(labels, seed)
        members[f"cifar-10-batches-py/{name}"] = _pickle(
            {
                b"batch_label": f"{name} of 6".encode(),
                b"labels": labels,
                b"data": rows,
                b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(len(labels))],
            }
        )
        truth[split][0].append(rows)
        truth[split][1].extend(labels)
    members["cifar-10-batches-py/batches.meta"] = _pickle(
        {
            b"num_cases_per_batch": train_per_batch * n,
            b"label_names": [c.encode() for c in CIFAR10_NAMES],
            b"num_vis": 3072,
        }
    )
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    expected = {s: (np.concatenate(r), np.array(lab)) for s, (r, lab) in truth.items()}
    return tar_gz(members), expected


def cifar100_archive(per_class: int = 2) -> tuple[bytes, dict]:
    """A cifar-100-python.tar.gz with `train`, `test` and `meta` (fine and coarse labels)."""
    members: dict[str, bytes] = {}
    expected = {}
    for seed, split in enumerate(("train", "test")):
        fine = [i % len(CIFAR100_FINE) for i in range(per_class * len(CIFAR100_FINE))]
        rows = cifar_rows(fine, 10 + seed)
        members[f"cifar-100-python/{split}"] = _pickle(
            {
                b"filenames": [f"{split}_{i}.png".encode() for i in range(len(fine))],
                b"batch_label": f"{split} batch".encode(),
                b"fine_labels": fine,
                b"coarse_labels": [FINE_TO_COARSE[f] for f in fine],
                b"data": rows,
            }
        )
        expected[split] = (rows, np.array(fine))
    members["cifar-100-python/meta"] = _pickle(
        {
            b"fine_label_names": [c.encode() for c in CIFAR100_FINE],
            b"coarse_label_names": [c.encode() for c in CIFAR100_COARSE],
        }
    )
    members["cifar-100-python/file.txt~"] = b""
    return tar_gz(members), expected
