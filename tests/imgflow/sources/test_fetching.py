"""imgflow/sources/fetching.py: cached, resumable, verified downloads; unsafe archives refused."""

from __future__ import annotations

import io
import os
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from imgflow.common.errors import StageError, TransientError
from imgflow.sources import fetching
from imgflow.sources.fetching import (
    Checksum,
    ChecksumError,
    DownloadError,
    NetworkError,
    SourceError,
    UnsafeArchiveError,
    cache_path,
    expected_checksums,
    fetch_url,
    open_tree,
    sniff_archive,
    url_basename,
)
from tests.download_helpers import etag, md5, serve, sha256, tar_gz

# 256 KiB of incompressible bytes in a tar.gz: several read chunks on the wire, still instant,
# and a readable archive (a download without a checksum must be one to be cached).
BODY = tar_gz({"data/blob.bin": random.Random(0).randbytes(256 * 1024)})
# The same file published again with other content, of the same size: a splice of the two
# would be as long as either.
NEW_BODY = tar_gz({"data/blob.bin": random.Random(1).randbytes(256 * 1024)})


@pytest.fixture
def server():
    with serve({"/data/file.tar.gz": BODY}) as state:
        yield state


def fetch(server, tmp_path: Path, checksums: list[Checksum], **kwargs) -> Path:
    return fetch_url(
        server.url("data/file.tar.gz"), tmp_path / "cache", checksums, backoff_s=0, **kwargs
    )


# --- checksums and names --------------------------------------------------------------------


def test_expected_checksums_lower_case_both_kinds():
    assert expected_checksums("AB" * 16, None) == [Checksum("md5", "ab" * 16)]
    assert [c.algorithm for c in expected_checksums("a" * 32, "b" * 64)] == ["md5", "sha256"]
    assert expected_checksums(None, None) == []


def test_url_basename_and_cache_path(tmp_path):
    url = "https://example.org/~kriz/cifar-10-python.tar.gz?x=1"
    assert url_basename(url) == "cifar-10-python.tar.gz"
    assert url_basename("https://example.org/") == "download"
    with_sum = cache_path(tmp_path, url, [Checksum("md5", "0" * 32)])
    assert with_sum == tmp_path / "cifar-10-python.tar.gz"
    # Without a checksum two URLs ending in the same name must not share a cache file.
    a = cache_path(tmp_path, "https://a.example/x.zip", [])
    b = cache_path(tmp_path, "https://b.example/x.zip", [])
    assert a != b and a.name.endswith("-x.zip") and b.name.endswith("-x.zip")


# --- downloads ------------------------------------------------------------------------------


def test_download_verifies_and_caches(server, tmp_path):
    path = fetch(server, tmp_path, [Checksum("md5", md5(BODY)), Checksum("sha256", sha256(BODY))])
    assert path == tmp_path / "cache" / "file.tar.gz"
    assert path.read_bytes() == BODY
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["file.tar.gz"]  # no .part left
    assert len(server.requests) == 1


def test_cache_hit_makes_no_request(server, tmp_path):
    fetch(server, tmp_path, [Checksum("md5", md5(BODY))])
    fetch(server, tmp_path, [Checksum("md5", md5(BODY))])
    fetch(server, tmp_path, [])  # no checksum: cached by URL
    fetch(server, tmp_path, [])
    assert len(server.requests) == 2


def test_cached_file_failing_its_checksum_is_moved_aside_and_downloaded_again(server, tmp_path):
    cached = tmp_path / "cache" / "file.tar.gz"
    cached.parent.mkdir()
    cached.write_bytes(b"stale")
    assert fetch(server, tmp_path, [Checksum("md5", md5(BODY))]).read_bytes() == BODY
    assert len(server.requests) == 1
    [aside] = cached.parent.glob("file.tar.gz.corrupt-*")
    assert aside.read_bytes() == b"stale"  # kept to look at, not deleted


def unreadable_cached_copy(server, tmp_path: Path) -> Path:
    """The cache file of the server's file (fetched without a checksum), cut short."""
    cached = cache_path(tmp_path / "cache", server.url("data/file.tar.gz"), [])
    cached.parent.mkdir()
    cached.write_bytes(BODY[: len(BODY) // 2])
    return cached


def test_unreadable_cached_archive_is_moved_aside_and_fetched_again(server, tmp_path, capsys):
    cached = unreadable_cached_copy(server, tmp_path)
    assert fetch(server, tmp_path, []).read_bytes() == BODY
    [aside] = cached.parent.glob(f"{cached.name}.corrupt-*")
    assert aside.read_bytes() == BODY[: len(BODY) // 2]
    message = capsys.readouterr().err
    assert "not a readable tar archive" in message
    assert f"cache folder {cached.parent}" in message and str(aside) in message
    assert len(server.requests) == 1


def test_cached_archive_bad_again_after_refetch_stops_with_one_line(server, tmp_path):
    unreadable_cached_copy(server, tmp_path)
    server.files["/data/file.tar.gz"] = BODY[: len(BODY) // 2]  # the server's copy is cut too
    with pytest.raises(DownloadError) as info:
        fetch(server, tmp_path, [])
    message = str(info.value)
    assert "\n" not in message and server.url("data/file.tar.gz") in message
    assert "the cached copy before it failed too" in message
    assert len(server.requests) == 1  # fetched again once, not in a loop


def test_download_that_is_not_a_readable_archive_is_not_cached(server, tmp_path):
    server.files["/data/file.tar.gz"] = BODY[:-1000]  # a server-side copy cut short
    with pytest.raises(DownloadError, match="not a readable tar archive") as info:
        fetch(server, tmp_path, [])
    message = str(info.value)
    assert message.startswith(server.url("data/file.tar.gz")) and "\n" not in message
    assert list((tmp_path / "cache").iterdir()) == []  # no file, no .part left to resume


def test_dropped_connection_is_resumed_with_a_range_request(server, tmp_path):
    server.drop_once.add("/data/file.tar.gz")
    path = fetch(server, tmp_path, [Checksum("sha256", sha256(BODY))])
    assert path.read_bytes() == BODY
    (first, no_range), (second, resume) = server.requests
    assert first == second == "/data/file.tar.gz" and no_range is None
    # The server sent half; the client asks for the rest from the last whole chunk it kept.
    offset = int(resume.removeprefix("bytes=").removesuffix("-"))
    assert 0 < offset <= len(BODY) // 2


def test_dropped_small_file_ends_whole(server, tmp_path):
    small = tar_gz({"a.txt": b"hello"})  # far under one read chunk
    server.files["/data/file.tar.gz"] = small
    server.drop_once.add("/data/file.tar.gz")
    assert fetch(server, tmp_path, []).read_bytes() == small
    assert len(server.requests) == 2


def test_server_without_a_validator_is_not_resumed(server, tmp_path):
    server.etags = False  # nothing to prove a resumed part is of the same file
    server.drop_once.add("/data/file.tar.gz")
    assert fetch(server, tmp_path, [Checksum("md5", md5(BODY))]).read_bytes() == BODY
    assert server.requests == [("/data/file.tar.gz", None)] * 2


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.ranges = False
    server.drop_once.add("/data/file.tar.gz")
    assert fetch(server, tmp_path, [Checksum("md5", md5(BODY))]).read_bytes() == BODY
    assert len(server.requests) == 2


def interrupted_run(server, tmp_path: Path) -> int:
    """Run a download that drops with no retry left; the size of the `.part` it leaves."""
    server.drop_once.add("/data/file.tar.gz")
    with pytest.raises(NetworkError):
        fetch(server, tmp_path, [], retries=0)
    [part] = (tmp_path / "cache").glob("*.part")
    return part.stat().st_size


def test_partial_file_of_the_same_file_is_resumed_with_if_range(server, tmp_path):
    kept = interrupted_run(server, tmp_path)
    assert fetch(server, tmp_path, []).read_bytes() == BODY
    assert server.requests[1] == ("/data/file.tar.gz", f"bytes={kept}-")
    assert server.if_ranges[1] == etag(BODY)
    assert server.replies[1] == 206  # only the missing bytes were sent


def test_partial_file_of_a_changed_file_is_not_spliced(server, tmp_path):
    interrupted_run(server, tmp_path)
    server.files["/data/file.tar.gz"] = NEW_BODY  # republished: another ETag
    assert fetch(server, tmp_path, []).read_bytes() == NEW_BODY
    assert server.if_ranges[1] == etag(BODY)  # the resume asked for the old file's rest...
    assert server.replies[1] == 200  # ...and got the whole new file instead


def test_partial_file_without_a_stored_validator_restarts_from_zero(server, tmp_path):
    part = tmp_path / "cache" / "file.tar.gz.part"
    part.parent.mkdir()
    part.write_bytes(NEW_BODY[:1000])  # left by a run that stored no validator
    assert fetch(server, tmp_path, [Checksum("md5", md5(BODY))]).read_bytes() == BODY
    assert server.requests == [("/data/file.tar.gz", None)]


def test_checksum_mismatch_deletes_partial_and_names_both_hashes(server, tmp_path):
    wrong = "0" * 32
    with pytest.raises(ChecksumError) as info:
        fetch(server, tmp_path, [Checksum("md5", wrong)])
    message = str(info.value)
    assert wrong in message and md5(BODY) in message
    assert server.url("data/file.tar.gz") in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_http_error_fails_at_once_naming_url_and_status(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        fetch_url(server.url("missing.zip"), tmp_path / "cache", [], backoff_s=0)
    assert server.url("missing.zip") in str(info.value)
    assert len(server.requests) == 1


def test_server_errors_are_retried_then_reported(server, tmp_path):
    server.status["/data/file.tar.gz"] = 503
    with pytest.raises(NetworkError, match="after 3 attempts"):
        fetch(server, tmp_path, [], retries=2)
    assert len(server.requests) == 3


def test_only_exhausted_network_retries_are_transient(server, tmp_path):
    assert issubclass(NetworkError, TransientError)
    assert not issubclass(DownloadError, TransientError)  # an HTTP 404 stays a 404


def test_file_url_is_read_in_place_and_verified(tmp_path):
    local = tmp_path / "my archive.tar.gz"
    local.write_bytes(BODY)
    url = local.as_uri()
    assert fetch_url(url, tmp_path / "cache", [Checksum("md5", md5(BODY))]) == local
    assert not (tmp_path / "cache").exists()
    with pytest.raises(ChecksumError):
        fetch_url(url, tmp_path / "cache", [Checksum("sha256", "f" * 64)])
    with pytest.raises(DownloadError, match="no such file"):
        fetch_url((tmp_path / "nope.zip").as_uri(), tmp_path / "cache", [])


def test_errors_are_source_and_stage_errors():
    for error in (ChecksumError, DownloadError, UnsafeArchiveError):
        assert issubclass(error, SourceError) and issubclass(error, StageError)


# --- archives -------------------------------------------------------------------------------


def make_tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            data = b"x" * info.size if info.isfile() else None
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 3
    return info


def tar_link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_tar_tree_lists_files_and_reads_them_renamed(tmp_path):
    archive = make_tar(
        tmp_path / "ok.tar.gz",
        [tar_file("./cat/1.png"), tar_file("dog/2.png"), tar_link("cat/ln.png", "1.png")],
    )
    with open_tree(archive, "tar") as tree:
        assert tree.names == ["cat/1.png", "dog/2.png"]  # links are not images
        assert tree.read_bytes("dog/2.png") == b"xxx"
        assert list(tree.iter_bytes({"dog/2.png": "animals/dog.png"})) == [
            ("animals/dog.png", b"xxx")
        ]
    assert sorted(os.listdir(tmp_path)) == ["ok.tar.gz"]  # nothing is extracted


@pytest.mark.parametrize(
    "member",
    [
        tar_file("../evil.png"),
        tar_file("cat/../../evil.png"),
        tar_file("/etc/evil.png"),
        tar_link("cat/link.png", "../../etc/passwd"),
        tar_link("cat/abs.png", "/etc/passwd"),
        tar_link("cat/hard.png", "../../etc/passwd", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-out", "symlink-abs", "hardlink-out"],
)
def test_tar_with_member_leaving_the_folder_is_refused(tmp_path, member):
    archive = make_tar(tmp_path / "bad.tar.gz", [tar_file("cat/1.png"), member])
    with (
        pytest.raises(UnsafeArchiveError, match="refusing member") as info,
        open_tree(archive, "tar"),
    ):
        pass
    assert str(archive) in str(info.value) and repr(member.name) in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["bad.tar.gz"]


def make_zip(path: Path, names: list[str], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"png")
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16  # S_IFLNK, how zip -y stores a link
            archive.writestr(info, "../../etc/passwd")
    return path


def test_zip_tree_lists_files_and_reads_them_renamed(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", ["cat/1.png", "dog/2.png"])
    with open_tree(archive, "zip") as tree:
        assert tree.names == ["cat/1.png", "dog/2.png"]
        assert tree.read_bytes("cat/1.png") == b"png"
        assert list(tree.iter_bytes({"cat/1.png": "c/1.png"})) == [("c/1.png", b"png")]


@pytest.mark.parametrize(
    ("names", "symlink", "bad"),
    [
        (["cat/1.png", "../evil.png"], None, "../evil.png"),
        (["cat/1.png", "/abs/evil.png"], None, "/abs/evil.png"),
        (["cat/1.png", "cat\\..\\..\\evil.png"], None, "cat\\..\\..\\evil.png"),
        (["cat/1.png", "C:/evil.png"], None, "C:/evil.png"),
        (["cat/1.png"], "cat/link.png", "cat/link.png"),
    ],
    ids=["dotdot", "absolute", "backslash-dotdot", "drive", "symlink"],
)
def test_zip_with_member_leaving_the_folder_is_refused(tmp_path, names, symlink, bad):
    archive = make_zip(tmp_path / "bad.zip", names, symlink)
    with pytest.raises(UnsafeArchiveError) as info, open_tree(archive, "zip"):
        pass
    assert repr(bad) in str(info.value)


def test_corrupt_archive_is_a_source_error_naming_the_file(tmp_path):
    for name, kind in (("x.tar.gz", "tar"), ("x.zip", "zip")):
        path = tmp_path / name
        path.write_bytes(b"not an archive")
        with pytest.raises(SourceError, match="cannot read archive") as info, open_tree(path, kind):
            pass
        assert str(path) in str(info.value)


def test_sniff_archive_by_content(tmp_path):
    assert sniff_archive(make_zip(tmp_path / "a.bin", ["c/1.png"])) == "zip"
    assert sniff_archive(make_tar(tmp_path / "b.bin", [tar_file("c/1.png")])) == "tar"
    (tmp_path / "c.bin").write_bytes(b"plain")
    assert sniff_archive(tmp_path / "c.bin") is None


def test_tar_tree_over_the_buffer_limit_reads_files_in_a_second_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "BUFFER_ARCHIVE_BYTES", 0)
    archive = make_tar(tmp_path / "big.tar.gz", [tar_file("cat/1.png"), tar_file("dog/2.png")])
    with open_tree(archive, "tar") as tree:
        assert tree.buffer is None  # nothing held in memory
        assert list(tree.iter_bytes({"cat/1.png": "c.png", "dog/2.png": "d.png"})) == [
            ("c.png", b"xxx"),
            ("d.png", b"xxx"),
        ]


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_tree_slices_files_from_the_decompressed_archive(tmp_path, mode):
    archive = tmp_path / "small.tar"
    contents = {"cat/1.png": b"first", "dog/2.png": b"second file"}
    with tarfile.open(archive, mode) as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with open_tree(archive, "tar") as tree:
        assert tree.buffer is not None  # held in memory, uncompressed
        assert dict(tree.iter_bytes({name: name for name in contents})) == contents
