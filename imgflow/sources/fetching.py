"""Getting source files onto disk safely: checksums, cached resumable downloads, archive trees.

- `fetch_url` streams an http(s) download into a cache folder with a progress bar, retries and
  resumes it (HTTP Range, with If-Range so only the same file is resumed) when the connection
  drops, verifies the checksum (or, with none, that it reads as an archive), and only then
  renames it into place, so the cache never holds a file that failed its check.
- `open_tree` gives one read-only view (`Tree`) of a folder, a tar archive or a zip archive. An
  archive member that would land outside the target folder (absolute path, `..`, a link pointing
  out) makes the whole archive refused, before anything is read from it. Each file's declared
  size is known before it is read, and a read stops just past it, in bounded steps.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import stat
import struct
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal, Protocol
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
    """A local, verified copy of the archive at `url`: a file:// path as it is, else the cached
    download.

    A download enters the cache only once it passes `_check_download` (its checksum, or with
    none, that it reads as a tar or zip archive), and a cached file is checked the same way on
    every use: one that fails is moved aside (`_move_aside`) and downloaded again, once. A
    `.part` file left by an interrupted run is resumed if the server still has the same file.
    """
    if urlparse(url).scheme == "file":
        path = file_url_path(url)
        if not path.is_file():
            raise DownloadError(f"{url}: no such file {path}")
        verify(path, checksums, url)
        return path  # read in place: a corrupt archive fails when opened, naming this path
    target = cache_path(cache_dir, url, checksums)
    bad_copy: Path | None = None
    if target.is_file():
        try:
            _check_download(target, url, checksums, str(target))
            return target
        except (ChecksumError, DownloadError) as exc:
            bad_copy = _move_aside(target)
            print(
                f"download: {exc}; moved the bad copy to {bad_copy} (cache folder "
                f"{target.parent}) and downloading {url} again",
                file=sys.stderr,
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    _download_with_retries(url, part, retries, backoff_s, session or requests.Session())
    try:
        _check_download(part, url, checksums, url)
    except (ChecksumError, DownloadError) as exc:
        # Neither cached nor left to resume: a resumed download must not build on bad bytes.
        part.unlink(missing_ok=True)
        _validator_path(part).unlink(missing_ok=True)
        if bad_copy is None:
            raise
        # Twice bad: a third download would likely be too, so stop and say where both went.
        raise type(exc)(f"{exc} (the cached copy before it failed too: {bad_copy})") from None
    os.replace(part, target)
    _validator_path(part).unlink(missing_ok=True)
    return target


def _check_download(path: Path, url: str, checksums: list[Checksum], what: str) -> None:
    """Raise, naming `what`, unless `path` (a copy of `url`) matches its checksum or, with none
    known, reads as the tar or zip archive it claims to be: that catches a download cut short
    or spliced from two versions of the file, or an HTML error page, before it is cached.

    With a checksum the structure is not checked too: matching bytes are the publisher's own,
    and no new download could fix them.
    """
    if checksums:
        verify(path, checksums, what)
        return
    kind = archive_kind(Path(url_basename(url))) or sniff_archive(path)
    if kind is None:
        raise DownloadError(f"{what}: the download is not a tar or zip archive")
    problem = _archive_problem(path, kind)
    if problem is not None:
        raise DownloadError(f"{what}: the download is not a readable {kind} archive: {problem}")


def _archive_problem(path: Path, kind: Literal["tar", "zip"]) -> str | None:
    """Why `path` does not read as a `kind` archive, or None. Its member listing is read through
    (for a compressed tar that means decompressing it); member contents are not read."""
    try:
        with open_tree(path, kind):
            pass
        if kind == "zip":
            # A zip's listing is its central directory, at the end: a splice or a cut earlier
            # shows as a member whose own header is not where the directory says it is.
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.flag_bits & 0x1:  # an encrypted member opens only with a password
                        continue
                    # A method zipfile lacks (deflate64) is set aside later, not unreadable here.
                    with contextlib.suppress(NotImplementedError):
                        archive.open(info).close()  # reads the header, not the data
    except UnsafeArchiveError:
        return None  # readable: open_tree refuses it again where it is used, naming the member
    except SourceError as exc:
        return _one_line(exc.__cause__ or exc)  # the cause: the .part path would mislead
    except _CORRUPT as exc:
        return _one_line(exc)
    return None


def _one_line(exc: BaseException) -> str:
    """`exc`'s message on one line: tarfile lists each method it tried on a line of its own."""
    lines = [line.strip().removeprefix("- ") for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__  # EOFError() says nothing else
    return " ".join([lines[0], "; ".join(lines[1:])]) if len(lines) > 1 else lines[0]


def _move_aside(path: Path) -> Path:
    """Rename a cached file that failed its check to `<name>.corrupt-<UTC time>` in its folder:
    kept for a look (not silently deleted), and never picked up again (cache_path names no such
    file)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 1
    while aside.exists():  # moved aside before within the same second
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
        count += 1
    os.replace(path, aside)
    return aside


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
    """Write `url` to `part`, asking only for the bytes `part` lacks when that is safe.

    A resume sends Range with If-Range: the validator (ETag or Last-Modified) the server gave
    when `part` was started, stored beside it. A server whose file has changed since answers
    with the whole new file, and `part` restarts from zero instead of splicing two versions.
    With no stored validator nothing says the bytes belong to today's file: restart from zero.
    So a small file whose transfer drops is simply fetched again from zero: the read that
    drops loses its chunk (CHUNK_BYTES), so no byte of a file that small reaches `part`.
    """
    offset = part.stat().st_size if part.exists() else 0
    validator = _stored_validator(part, url) if offset else None
    if validator is None:
        offset = 0
    # identity: Range offsets count the file's bytes, not those of a gzip-encoded response.
    headers = {"Accept-Encoding": "identity"}
    if validator is not None:
        headers |= {"Range": f"bytes={offset}-", "If-Range": validator}
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
        if response.status_code == 416:  # the part is already whole (or longer): start over
            part.unlink()
            raise _Retryable("server refused the resume range; starting over")
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code} {response.reason}")
        if response.status_code >= 400:
            raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")
        if response.status_code == 206:
            if _range_start(response) != offset:
                part.unlink(missing_ok=True)
                raise _Retryable("server sent another byte range than asked; starting over")
        else:
            # The whole file: a first request, a file changed since the part was started, or a
            # server that ignores Range. The part is emptied before its new validator is stored,
            # so a crash in between never pairs old bytes with the new file's validator.
            offset = 0
            part.write_bytes(b"")
            _store_validator(part, url, _response_validator(response))
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab") as handle,  # emptied above unless resuming
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


def _range_start(response: requests.Response) -> int | None:
    """The first byte a 206 reply holds (`Content-Range: bytes 1000-4095/4096` -> 1000)."""
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _response_validator(response: requests.Response) -> str | None:
    """What identifies the file a reply carries, for If-Range: its ETag, else Last-Modified.

    A weak ETag (`W/"..."`) marks content that is only equivalent, not byte for byte the same,
    and If-Range may not carry one (RFC 9110 13.1.5).
    """
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified") or None


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _store_validator(part: Path, url: str, validator: str | None) -> None:
    """Record beside `part` the validator of the file it holds, or that it has none."""
    path = _validator_path(part)
    if validator is None:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"url": url, "validator": validator}))
    os.replace(temporary, path)  # atomic: a crash leaves the old record or the new, never half


def _stored_validator(part: Path, url: str) -> str | None:
    """The validator stored beside `part` for `url`, or None when there is none to trust."""
    try:
        stored = json.loads(_validator_path(part).read_text())
    except (OSError, ValueError):
        return None
    # Another URL's validator says nothing about this one (with a checksum, mirrors share a name).
    if not isinstance(stored, dict) or stored.get("url") != url:
        return None
    validator = stored.get("validator")
    return validator if isinstance(validator, str) and validator else None


# --- Trees: folders and archives ------------------------------------------------------------


# Bytes per read, or per decompression step, of one file: what reading a file costs beyond its
# own size, whatever its compression ratio.
READ_CHUNK = 1 << 20


class Tree(Protocol):
    """The regular files of a folder or archive, by posix path relative to its root.

    `sizes` holds each file's declared size (a folder file's stat, a tar header's, a zip
    directory's), known before anything is read, so a caller can refuse a file by it. A read
    never returns more: a file holding more than it declares stops the run naming it, at most
    READ_CHUNK bytes past its declared size, so a lying size cannot make a read run on.
    """

    names: list[str]  # sorted
    sizes: dict[str, int]
    skipped: dict[str, str]  # entries that are not files to read (links...), with why

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
            try:
                archive = zipfile.ZipFile(path)
            except UnicodeDecodeError as exc:  # zipfile decodes a name flagged UTF-8 strictly
                raise SourceError(
                    f"{path}: cannot read archive: member name {exc.object!r} is marked as "
                    "UTF-8 but is not"
                ) from None
            with archive, open(path, "rb") as raw:
                yield ZipTree(path, archive, raw)
    except _CORRUPT as exc:
        raise SourceError(f"{path}: cannot read archive: {exc}") from exc


def read_small_tar(path: Path) -> bytes | None:
    """The whole uncompressed tar stream, or None when it is over BUFFER_ARCHIVE_BYTES.

    Decompressing in one C call and slicing files out of the bytes is faster than tarfile's
    reads through a compressed stream, which run in Python (docs/decisions/tar-in-memory.md).
    The expanded size is not known before decompressing, so the read stops one byte past the
    bound: this costs at most BUFFER_ARCHIVE_BYTES of memory whatever the archive holds. A gzip
    trailer already stating more settles it without decompressing: its size field (the last
    member's, modulo 4 GiB) can understate the whole, never overstate it.
    """
    if path.stat().st_size > BUFFER_ARCHIVE_BYTES:
        return None
    with open(path, "rb") as raw:
        magic = raw.read(6)
        if magic.startswith(b"\x1f\x8b") and _gzip_trailer_size(raw) > BUFFER_ARCHIVE_BYTES:
            return None
    opener = next((open_ for prefix, open_ in _TAR_COMPRESSIONS if magic.startswith(prefix)), open)
    with opener(path, "rb") as stream:
        data = stream.read(BUFFER_ARCHIVE_BYTES + 1)
    return None if len(data) > BUFFER_ARCHIVE_BYTES else data


def _gzip_trailer_size(raw: BinaryIO) -> int:
    """The uncompressed size a gzip file's trailer states for its last member, modulo 4 GiB."""
    if raw.seek(0, os.SEEK_END) < 18:  # shorter than a header and trailer: let gzip say why
        return 0
    raw.seek(-4, os.SEEK_END)
    return int.from_bytes(raw.read(4), "little")


def _reads(handle: BinaryIO, limit: int) -> Iterator[bytes]:
    """`handle`'s next bytes, up to `limit` of them, READ_CHUNK at most at a time."""
    while limit > 0:
        piece = handle.read(min(limit, READ_CHUNK))
        if not piece:
            return
        limit -= len(piece)
        yield piece


def _whole(pieces: Iterable[bytes], size: int, what: str) -> bytes:
    """The file `what` of declared `size` from its pieces, taken no further than one past it."""
    parts: list[bytes] = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > size:
            raise SourceError(
                f"{what}: holds more than its declared {size:,} bytes; stopped reading there "
                "(a damaged archive, one built to exhaust memory, or a file growing as it is read)"
            )
        parts.append(piece)
    if total < size:
        raise SourceError(f"{what}: holds {total:,} bytes, not its declared {size:,}")
    return parts[0] if len(parts) == 1 else b"".join(parts)


class FolderTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sizes: dict[str, int] = {}
        self.skipped: dict[str, str] = {}
        folders = [(root, "")]  # a stack, not recursion: no depth limit
        while folders:
            folder, prefix = folders.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except OSError as exc:
                raise SourceError(f"{folder}: cannot list the folder: {exc.strerror}") from exc
            for entry in entries:
                name = prefix + entry.name
                if entry.is_symlink():  # not followed: it could point anywhere on this machine
                    self.skipped[name] = "symlink: not followed"
                elif entry.is_dir(follow_symlinks=False):
                    folders.append((Path(entry.path), f"{name}/"))
                elif entry.is_file(follow_symlinks=False):
                    self.sizes[name] = entry.stat(follow_symlinks=False).st_size
                else:
                    self.skipped[name] = "not a regular file"
        self.names = sorted(self.sizes)

    def read_bytes(self, name: str) -> bytes:
        path = self.root / name
        size = self.sizes[name]
        with open(path, "rb") as handle:
            return _whole(_reads(handle, size + 1), size, str(path))

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        for name in sorted(targets):
            yield targets[name], self.read_bytes(name)


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
        self.skipped: dict[str, str] = {}
        for member in members:
            self._vet(member)
            if member.issym() or member.islnk():  # vetted: pointing inside, yet not followed
                kind = "symlink" if member.issym() else "hard link"
                self.skipped[member.name.removeprefix("./")] = f"{kind}: not followed"
        # `tar czf x.tgz .` stores "./cat/1.png": drop that prefix, not the dot of ".DS_Store".
        self.members = {m.name.removeprefix("./"): m for m in members if m.isfile()}
        self.names = sorted(self.members)
        self.sizes = {name: member.size for name, member in self.members.items()}

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
            return _whole(
                _reads(handle, member.size + 1), member.size, f"{self.path}: member {name!r}"
            )

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        # Members in archive order, so a compressed stream is only ever read forwards. Nothing
        # is extracted to disk: only regular files with vetted names are read, as bytes.
        for name in self.members:
            if name in targets:
                yield targets[name], self.read_bytes(name)


# Zip compression methods read here: each through a decompressor whose output per step is
# capped, which zipfile's own reader does only for deflate (its bzip2 and lzma readers expand a
# whole read at once, and a few KB of either can expand to gigabytes).
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# A member's local header: signature, 22 bytes of fields the central directory repeats, then the
# lengths of the name and extra field that come before its data.
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")


class ZipTree:
    def __init__(self, path: Path, archive: zipfile.ZipFile, raw: BinaryIO) -> None:
        """`raw`: the archive file, opened a second time, that members are read from."""
        self.path = path
        self.zip = archive
        self.raw = raw
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.skipped: dict[str, str] = {}
        for info in archive.infolist():
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if unsafe_member_name(info.filename) or is_link:
                why = "a symbolic link" if is_link else "its path leaves the target folder"
                raise UnsafeArchiveError(f"{path}: refusing member {info.filename!r}: {why}")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                self.skipped[info.filename] = "encrypted: no password to read it with"
            elif info.compress_type not in _ZIP_METHODS:
                why = f"compression method {info.compress_type} not supported"
                self.skipped[info.filename] = why
            else:
                self.infos[info.filename] = info
        self.names = sorted(self.infos)
        self.sizes = {name: info.file_size for name, info in self.infos.items()}

    def read_bytes(self, name: str) -> bytes:
        info = self.infos[name]
        what = f"{self.path}: member {name!r}"
        data = _whole(self._pieces(info, what), info.file_size, what)
        if zlib.crc32(data) != info.CRC:
            raise SourceError(f"{what}: CRC-32 does not match: the archive is damaged")
        return data

    def iter_bytes(self, targets: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
        for name in self.infos:
            if name in targets:
                yield targets[name], self.read_bytes(name)

    def _pieces(self, info: zipfile.ZipInfo, what: str) -> Iterator[bytes]:
        """The member's bytes, decompressed at most READ_CHUNK at a time."""
        self.raw.seek(info.header_offset)
        header = self.raw.read(_ZIP_LOCAL_HEADER.size)
        if len(header) < _ZIP_LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise SourceError(f"{what}: no member header where the directory places it")
        _, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(header)
        self.raw.seek(name_length + extra_length, os.SEEK_CUR)
        left = info.compress_size
        if info.compress_type == zipfile.ZIP_STORED:
            yield from _reads(self.raw, left)
            return
        decompressor: _Decompressor
        if info.compress_type == zipfile.ZIP_DEFLATED:
            decompressor = _Inflate()
        elif info.compress_type == zipfile.ZIP_BZIP2:
            decompressor = bz2.BZ2Decompressor()
        else:
            # Zip's LZMA data opens with the encoder version and the size of the properties.
            start = self.raw.read(4)
            props = self.raw.read(int.from_bytes(start[2:4], "little"))
            left -= len(start) + len(props)
            decompressor = _lzma1(props, what)
        yield from _decompressed(decompressor, _reads(self.raw, left), what)


class _Decompressor(Protocol):
    eof: bool
    needs_input: bool

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _Inflate:
    """Raw deflate through zlib, shaped like bz2's and lzma's decompressors."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def needs_input(self) -> bool:
        return not self._zlib.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self._zlib.decompress(self._zlib.unconsumed_tail + data, max_length)


def _lzma1(props: bytes, what: str) -> lzma.LZMADecompressor:
    """A decompressor for zip's raw LZMA1 data, from its 5 property bytes: lc, lp and pb packed
    in one, then the dictionary size."""
    if len(props) != 5 or props[0] >= 9 * 5 * 5:
        raise SourceError(f"{what}: bad LZMA properties")
    lc, lp, pb = props[0] % 9, props[0] // 9 % 5, props[0] // 45
    settings = {"id": lzma.FILTER_LZMA1, "dict_size": int.from_bytes(props[1:], "little")}
    return lzma.LZMADecompressor(
        lzma.FORMAT_RAW, filters=[settings | {"lc": lc, "lp": lp, "pb": pb}]
    )


def _decompressed(
    decompressor: _Decompressor, compressed: Iterator[bytes], what: str
) -> Iterator[bytes]:
    """What `decompressor` makes of `compressed`, READ_CHUNK at most at a time."""
    while not decompressor.eof:
        data = next(compressed, b"") if decompressor.needs_input else b""
        try:
            out = decompressor.decompress(data, READ_CHUNK)
        except OSError as exc:  # how bz2 reports damaged data
            raise SourceError(f"{what}: cannot decompress: {exc}") from exc
        if out:
            yield out
        elif not data:
            return  # nothing in, nothing out: the data ends here (a short member is caught)
