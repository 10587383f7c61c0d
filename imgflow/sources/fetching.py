"""Getting source files onto disk safely: checksums, cached resumable downloads, archive trees.

- `fetch_url` streams an http(s) download into a cache folder with a progress bar, retries and
  resumes it (HTTP Range) when the connection drops, verifies the checksum, and only then
  renames it into place, so the cache never holds a file that failed its check.
- `open_tree` gives one read-only view (`Tree`) of a folder, a tar archive or a zip archive. An
  archive member that would land outside the target folder (absolute path, `..`, a link pointing
  out) makes the whole archive refused, before anything is read from it.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests
from tqdm import tqdm

from imgflow.common.errors import SourceError, TransientError
from imgflow.sources.ustar import plain_members

TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)
ARCHIVE_SUFFIXES = TAR_SUFFIXES + ZIP_SUFFIXES
# Bytes per read: what a dropped connection can lose of the part being read (urllib3 drops a
# short read), so small enough that a resume repeats little.
CHUNK_BYTES = 1 << 16
TIMEOUT_S = 60  # per connect and per read: a stalled server is retried, not waited on forever
RETRIES = 4  # attempts after the first; each resumes where the last one stopped
# Tar archives up to this size (uncompressed) are decompressed into memory in one go and their
# files sliced out of it; bigger ones are streamed (two passes: headers, then contents).
BUFFER_ARCHIVE_BYTES = 1 << 29
# Compressed tar formats by their first bytes, with the module that opens each.
_TAR_COMPRESSIONS = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


class DownloadError(SourceError):
    """A download failed (HTTP error, too many dropped connections)."""


class NetworkError(DownloadError, TransientError):
    """The connection kept failing: a later attempt may get through."""


class ChecksumError(SourceError):
    """A file's content does not match the expected checksum."""


class UnsafeArchiveError(SourceError):
    """An archive member would be written outside the target folder."""


Algorithm = Literal["md5", "sha256"]


@dataclass(frozen=True)
class Checksum:
    algorithm: Algorithm
    hexdigest: str  # lower case

    def __str__(self) -> str:
        return f"{self.algorithm} {self.hexdigest}"


def expected_checksums(md5: str | None, sha256: str | None) -> list[Checksum]:
    found = [Checksum("md5", md5.lower())] if md5 else []
    return found + ([Checksum("sha256", sha256.lower())] if sha256 else [])


def file_digest(path: Path, algorithm: Algorithm) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def verify(path: Path, checksums: list[Checksum], what: str) -> None:
    """Raise `ChecksumError` naming `what` and both hashes if any expected checksum differs."""
    for expected in checksums:
        actual = file_digest(path, expected.algorithm)
        if actual != expected.hexdigest:
            raise ChecksumError(
                f"{what}: {expected.algorithm} mismatch: expected {expected.hexdigest}, "
                f"got {actual}"
            )


# --- URLs and the download cache ------------------------------------------------------------


def is_url(source: str) -> bool:
    return urlparse(source).scheme in {"http", "https", "file"}


def url_basename(url: str) -> str:
    """The file name a URL points at (`.../cifar-10-python.tar.gz` -> `cifar-10-python.tar.gz`)."""
    name = PurePosixPath(unquote(urlparse(url).path)).name
    return name if name not in {"", ".", ".."} else "download"


def file_url_path(url: str) -> Path:
    parsed = urlparse(url)
    return Path(url2pathname(unquote(parsed.path)))


def cache_path(cache_dir: Path, url: str, checksums: list[Checksum]) -> Path:
    """Where `url` is cached.

    With a checksum the content is what identifies the file, so the plain file name is used (a
    publisher archive copied there by hand is picked up and verified). Without one, the name is
    prefixed with a hash of the URL so two URLs ending in the same name never share a file.
    """
    name = url_basename(url)
    if checksums:
        return cache_dir / name
    return cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"


def fetch_url(
    url: str,
    cache_dir: Path,
    checksums: list[Checksum],
    *,
    retries: int = RETRIES,
    backoff_s: float = 1.0,
    session: requests.Session | None = None,
) -> Path:
    """A local, verified copy of `url`: a file:// path as it is, else the cached download.

    A cached file is reused when it passes the checksum (or when none is given); one that fails
    is downloaded again. A `.part` file left by an interrupted run is resumed.
    """
    if urlparse(url).scheme == "file":
        path = file_url_path(url)
        if not path.is_file():
            raise DownloadError(f"{url}: no such file {path}")
        verify(path, checksums, url)
        return path
    target = cache_path(cache_dir, url, checksums)
    if target.is_file():
        try:
            verify(target, checksums, str(target))
            return target
        except ChecksumError as exc:
            print(
                f"download: cached file fails its check, downloading again ({exc})", file=sys.stderr
            )
            target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    _download_with_retries(url, part, retries, backoff_s, session or requests.Session())
    try:
        verify(part, checksums, url)
    except ChecksumError:
        part.unlink(missing_ok=True)  # a resumed download must not build on bad bytes
        raise
    os.replace(part, target)
    return target


def _download_with_retries(
    url: str, part: Path, retries: int, backoff_s: float, session: requests.Session
) -> None:
    for attempt in range(retries + 1):
        try:
            _stream_to(url, part, session)
            return
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,  # the body stopped short
            _Retryable,
        ) as exc:
            if attempt == retries:
                raise NetworkError(
                    f"{url}: download failed after {attempt + 1} attempts: {exc}"
                ) from exc
            print(f"download: {url}: {exc}; retrying ({attempt + 1}/{retries})", file=sys.stderr)
            time.sleep(backoff_s * 2**attempt)


class _Retryable(Exception):
    """A failure another attempt may fix: a 5xx reply or a body shorter than announced."""


def _stream_to(url: str, part: Path, session: requests.Session) -> None:
    """Append the rest of `url` to `part`, asking only for the missing bytes (HTTP Range)."""
    offset = part.stat().st_size if part.exists() else 0
    # identity: Range offsets count the file's bytes, not those of a gzip-encoded response.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
        if response.status_code == 416:  # the part is already whole (or longer): start over
            part.unlink()
            raise _Retryable("server refused the resume range; starting over")
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code} {response.reason}")
        if response.status_code >= 400:
            raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")
        if response.status_code != 206:
            offset = 0  # the server ignored Range: it sends the whole file again
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab" if offset else "wb") as handle,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=url_basename(url),
                mininterval=1.0,
            ) as progress,
        ):
            for chunk in response.iter_content(CHUNK_BYTES):
                handle.write(chunk)
                progress.update(len(chunk))
    if total is not None and part.stat().st_size < total:
        raise _Retryable(f"connection closed at {part.stat().st_size} of {total} bytes")


# --- Trees: folders and archives ------------------------------------------------------------


class Tree(Protocol):
    """The regular files of a folder or archive, by posix path relative to its root."""

    names: list[str]

    def read_bytes(self, name: str) -> bytes: ...

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        """(targets[name], bytes) for each file `name` in `targets`, in storage order."""
        ...


def archive_kind(path: Path) -> Literal["tar", "zip"] | None:
    name = path.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    return None


def sniff_archive(path: Path) -> Literal["tar", "zip"] | None:
    """The archive type by content, for downloads whose URL names no suffix."""
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    return None


# What a damaged archive raises while being read (a full disk's OSError is not among them).
_CORRUPT = (
    tarfile.TarError,
    zipfile.BadZipFile,
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    lzma.LZMAError,
)


@contextmanager
def open_tree(path: Path, kind: Literal["tar", "zip", "folder"]) -> Iterator[Tree]:
    if kind == "folder":
        yield FolderTree(path)
        return
    try:
        if kind == "tar":
            buffer = read_small_tar(path)
            source = {"name": path} if buffer is None else {"fileobj": io.BytesIO(buffer)}
            with tarfile.open(mode="r:*", **source) as tar:
                yield TarTree(path, tar, buffer)
        else:
            with zipfile.ZipFile(path) as archive:
                yield ZipTree(path, archive)
    except _CORRUPT as exc:
        raise SourceError(f"{path}: cannot read archive: {exc}") from exc


def read_small_tar(path: Path) -> bytes | None:
    """The whole uncompressed tar stream, or None when it is over BUFFER_ARCHIVE_BYTES.

    Decompressing in one C call and slicing files out of the bytes is faster than tarfile's
    reads through a compressed stream, which run in Python (docs/decisions/tar-in-memory.md).
    """
    if path.stat().st_size > BUFFER_ARCHIVE_BYTES:
        return None
    with open(path, "rb") as raw:
        magic = raw.read(6)
    opener = next((open_ for prefix, open_ in _TAR_COMPRESSIONS if magic.startswith(prefix)), open)
    with opener(path, "rb") as stream:
        data = stream.read(BUFFER_ARCHIVE_BYTES + 1)
    return None if len(data) > BUFFER_ARCHIVE_BYTES else data


class FolderTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        # Symlinks are skipped: they could point anywhere on this machine.
        self.names = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()
        )

    def read_bytes(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        for name in sorted(targets):
            yield targets[name], (self.root / name).read_bytes()


def unsafe_member_name(name: str) -> bool:
    """True for a name that would leave the target folder (also as a Windows path)."""
    name = name.replace("\\", "/")  # str ops, not PurePosixPath: run on every member
    return name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":")


class TarTree:
    def __init__(self, path: Path, tar: tarfile.TarFile, buffer: bytes | None = None) -> None:
        """`buffer`: the whole uncompressed archive `tar` reads, when it fits in memory
        (read_small_tar); without it files are read through `tar`, in a second pass."""
        self.path = path
        self.tar = tar
        self.buffer = buffer
        # The fast path's members are regular files and folders only, each safe if its name is.
        members = plain_members(buffer) if buffer is not None else None
        if members is None:
            members = list(tar)
        for member in members:
            self._vet(member)
        # `tar czf x.tgz .` stores "./cat/1.png": drop that prefix, not the dot of ".DS_Store".
        self.members = {m.name.removeprefix("./"): m for m in members if m.isfile()}
        self.names = sorted(self.members)

    def _vet(self, member: tarfile.TarInfo) -> None:
        if unsafe_member_name(member.name):  # the data filter would only strip a leading /
            raise UnsafeArchiveError(
                f"{self.path}: refusing member {member.name!r}: its path leaves the target folder"
            )
        if member.isfile():
            return  # a regular file with a safe name cannot land outside the target
        try:
            # The check `extractall(filter="data")` applies, run on every link and special file
            # so an archive with one bad member is refused before anything is stored. (Not on
            # regular files: its realpath calls add up over tens of thousands of them.)
            tarfile.data_filter(member, "/__dest__")
        except tarfile.FilterError as exc:
            raise UnsafeArchiveError(
                f"{self.path}: refusing member {member.name!r}: {exc}"
            ) from None

    def read_bytes(self, name: str) -> bytes:
        member = self.members[name]
        if self.buffer is not None and not member.issparse():  # sparse files need tarfile
            return self.buffer[member.offset_data : member.offset_data + member.size]
        with self.tar.extractfile(member) as handle:  # type: ignore[union-attr]
            return handle.read()

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        # Members in archive order, so a compressed stream is only ever read forwards. Nothing
        # is extracted to disk: only regular files with vetted names are read, as bytes.
        for name in self.members:
            if name in targets:
                yield targets[name], self.read_bytes(name)


class ZipTree:
    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.zip = archive
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if unsafe_member_name(info.filename) or is_link:
                why = "a symbolic link" if is_link else "its path leaves the target folder"
                raise UnsafeArchiveError(f"{path}: refusing member {info.filename!r}: {why}")
            if not info.is_dir():
                self.infos[info.filename] = info
        self.names = sorted(self.infos)

    def read_bytes(self, name: str) -> bytes:
        return self.zip.read(self.infos[name])

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        for name, info in self.infos.items():
            if name in targets:
                yield targets[name], self.zip.read(info)
