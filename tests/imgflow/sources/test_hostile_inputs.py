"""Hostile and broken sources (issue 23): archive bombs refused by their declared size, reads
that stop where a size lies, the total cap, and files set aside with their reason (names that are
not UTF-8, symlinks) while the rest of the dataset is stored."""

from __future__ import annotations

import io
import os
import random
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from imgflow.common.artifacts import read_json
from imgflow.params.data import MAX_FILE_BYTES_LIMIT, DataParams
from imgflow.sources import fetching
from imgflow.sources.fetching import SourceError, open_tree, read_small_tar
from imgflow.sources.ingest import fetch
from tests.imgflow.sources.helpers import png_bytes, stored, write_tree

SMALL = {"cat/1.png": png_bytes(1), "dog/2.png": png_bytes(2)}


def make_zip(
    path: Path,
    members: dict[str, bytes],
    change: Callable[[zipfile.ZipFile], None] | None = None,
    method: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A zip of `members`; `change` edits their directory entries before it is written."""
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if change is not None:
            change(archive)
    return path


def declare(name: str, size: int) -> Callable[[zipfile.ZipFile], None]:
    """Make the zip's directory give `name` this uncompressed size, whatever its data holds."""
    return lambda archive: setattr(archive.getinfo(name), "file_size", size)


def spy_reads(monkeypatch, tree_class: type) -> list[str]:
    """The names the tree class reads from now on."""
    reads: list[str] = []
    real = tree_class.read_bytes

    def read_bytes(tree, name):
        reads.append(name)
        return real(tree, name)

    monkeypatch.setattr(tree_class, "read_bytes", read_bytes)
    return reads


def ignored(raw: Path) -> list[str]:
    return read_json(raw / "dataset.json")["ignored"]


# --- sizes: per file, per archive -----------------------------------------------------------


def test_zip_member_declaring_10_gib_is_set_aside_unread(tmp_path, monkeypatch):
    archive = make_zip(
        tmp_path / "bomb.zip", SMALL | {"cat/huge.png": b"tiny"}, declare("cat/huge.png", 10 << 30)
    )
    reads = spy_reads(monkeypatch, fetching.ZipTree)

    fetch(DataParams(source=str(archive)), tmp_path / "raw")

    assert "cat/huge.png" not in reads
    assert stored(tmp_path / "raw") == SMALL
    assert ignored(tmp_path / "raw") == [
        "cat/huge.png (10,737,418,240 bytes, over data.max_file_bytes (67,108,864))"
    ]


def test_zip_member_expanding_past_its_declared_size_is_stopped_there(tmp_path, monkeypatch):
    archive = make_zip(
        tmp_path / "liar.zip",
        SMALL | {"cat/big.png": bytes(64 << 20)},
        declare("cat/big.png", 1000),
    )
    decompressed = []
    real_decompressed = fetching._decompressed

    def counting(*args):
        for piece in real_decompressed(*args):
            decompressed.append(len(piece))
            yield piece

    monkeypatch.setattr(fetching, "_decompressed", counting)

    with pytest.raises(SourceError, match="holds more than its declared 1,000 bytes") as info:
        fetch(DataParams(source=str(archive), max_file_bytes=4 << 20), tmp_path / "raw")

    assert f"{archive}: member 'cat/big.png'" in str(info.value)
    assert sum(decompressed) <= 1000 + fetching.READ_CHUNK  # not the 64 MiB it holds
    assert not (tmp_path / "raw").exists()


def test_files_declaring_more_than_the_total_cap_stop_the_run_before_any_read(
    tmp_path, monkeypatch
):
    write_tree(tmp_path / "src", ["cat/1.png", "cat/2.png", "dog/3.png"])
    total = sum(p.stat().st_size for p in (tmp_path / "src").rglob("*.png"))
    reads = spy_reads(monkeypatch, fetching.FolderTree)

    with pytest.raises(SourceError) as info:
        fetch(DataParams(source=str(tmp_path / "src"), max_total_bytes=total - 1), tmp_path / "raw")

    assert str(info.value).startswith(
        f"data.max_total_bytes: the 3 files to store declare {total:,}"
    )
    assert reads == []
    assert not (tmp_path / "raw").exists()


def test_folder_file_over_max_file_bytes_is_set_aside_unread(tmp_path, monkeypatch):
    write_tree(tmp_path / "src", ["cat/1.png", "dog/2.png"])
    (tmp_path / "src" / "cat" / "big.png").write_bytes(bytes(5000))
    reads = spy_reads(monkeypatch, fetching.FolderTree)

    fetch(DataParams(source=str(tmp_path / "src"), max_file_bytes=4096), tmp_path / "raw")

    assert "cat/big.png" not in reads
    assert sorted(stored(tmp_path / "raw")) == ["cat/1.png", "dog/2.png"]
    assert ignored(tmp_path / "raw") == [
        "cat/big.png (5,000 bytes, over data.max_file_bytes (4,096))"
    ]


def test_folder_file_growing_past_its_listed_size_is_stopped_naming_it(tmp_path):
    write_tree(tmp_path / "src", ["cat/1.png"])
    path = tmp_path / "src" / "cat" / "1.png"
    with open_tree(tmp_path / "src", "folder") as tree:
        path.write_bytes(path.read_bytes() + b"more")
        with pytest.raises(SourceError, match="holds more than its declared") as info:
            tree.read_bytes("cat/1.png")
    assert str(info.value).startswith(str(path))


def test_labelled_image_set_aside_keeps_the_others_labels(tmp_path):
    # Line i of a sorted labels file labels image i: a set-aside image must keep its line.
    write_tree(tmp_path / "src", ["img1.png", "img3.png"])
    (tmp_path / "src" / "img2.png").write_bytes(bytes(5000))
    (tmp_path / "src" / "labels.txt").write_text("a\nb\nc\n")
    params = DataParams(source=str(tmp_path / "src"), labels_file="labels.txt", max_file_bytes=4096)

    fetch(params, tmp_path / "raw")

    assert sorted(stored(tmp_path / "raw")) == ["a/img1.png", "c/img3.png"]


def test_labels_file_over_max_file_bytes_names_the_key(tmp_path):
    write_tree(tmp_path / "src", ["img1.png"])
    (tmp_path / "src" / "labels.txt").write_text("a\n" * 3000)
    params = DataParams(source=str(tmp_path / "src"), labels_file="labels.txt", max_file_bytes=4096)
    with pytest.raises(SourceError, match=r"^data.labels_file: 'labels.txt' is 6,000 bytes"):
        fetch(params, tmp_path / "raw")


def test_a_source_with_every_image_set_aside_is_an_error_listing_them(tmp_path):
    (tmp_path / "src" / "cat").mkdir(parents=True)
    (tmp_path / "src" / "cat" / "big.png").write_bytes(bytes(5000))
    with pytest.raises(SourceError, match="no image left to store") as info:
        fetch(DataParams(source=str(tmp_path / "src"), max_file_bytes=4096), tmp_path / "raw")
    assert "cat/big.png (5,000 bytes, over data.max_file_bytes (4,096))" in str(info.value)


def test_tar_gz_trailer_over_the_buffer_bound_is_streamed_without_decompressing(
    tmp_path, monkeypatch
):
    archive = tmp_path / "zeros.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cat/zeros.png")
        info.size = 1 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    monkeypatch.setattr(fetching, "BUFFER_ARCHIVE_BYTES", 1 << 16)

    def refuse(*args):
        raise AssertionError("decompressed")

    monkeypatch.setattr(fetching, "_TAR_COMPRESSIONS", ((b"\x1f\x8b", refuse),))
    assert archive.stat().st_size < 1 << 16  # small on disk: only its trailer tells
    assert read_small_tar(archive) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_file_bytes", 0), ("max_file_bytes", MAX_FILE_BYTES_LIMIT + 1), ("max_total_bytes", 0)],
)
def test_out_of_range_caps_are_refused(key, value):
    with pytest.raises(ValidationError, match=key):
        DataParams(source="x.zip", **{key: value})


def test_caps_with_a_builtin_source_are_refused():
    with pytest.raises(ValidationError, match="data.max_total_bytes applies to folder"):
        DataParams(source="cifar10", max_total_bytes=1 << 20)


# --- names and links set aside --------------------------------------------------------------


def test_folder_file_name_not_utf8_is_set_aside_and_the_rest_stored(tmp_path):
    write_tree(tmp_path / "src", ["cat/1.png", "dog/2.png"])
    bad = Path(os.fsdecode(os.fsencode(tmp_path / "src" / "cat") + b"/b\xff.png"))
    bad.write_bytes(png_bytes(3))

    fetch(DataParams(source=str(tmp_path / "src")), tmp_path / "raw")

    assert sorted(stored(tmp_path / "raw")) == ["cat/1.png", "dog/2.png"]
    assert ignored(tmp_path / "raw") == ["cat/b\\xff.png (name is not valid UTF-8)"]


def test_tar_member_name_not_utf8_is_set_aside_and_the_rest_stored(tmp_path):
    archive = tmp_path / "names.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (SMALL | {"cat/b\udcff.png": png_bytes(3)}).items():
            info = tarfile.TarInfo(name)  # written back as the byte \xff
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    fetch(DataParams(source=str(archive)), tmp_path / "raw")

    assert stored(tmp_path / "raw") == SMALL
    assert ignored(tmp_path / "raw") == ["cat/b\\xff.png (name is not valid UTF-8)"]


def test_zip_name_flagged_utf8_but_not_refuses_the_archive_naming_it(tmp_path):
    def flag_utf8(archive: zipfile.ZipFile) -> None:
        archive.getinfo("cat/bX.png").flag_bits |= 0x800

    archive = make_zip(tmp_path / "names.zip", SMALL | {"cat/bX.png": b"x"}, flag_utf8)
    archive.write_bytes(archive.read_bytes().replace(b"cat/bX.png", b"cat/b\xff.png"))
    with pytest.raises(SourceError, match=r"member name b'cat/b\\xff.png' is marked as UTF-8"):
        fetch(DataParams(source=str(archive)), tmp_path / "raw")


def test_folder_symlinks_are_listed_as_ignored_not_followed(tmp_path):
    write_tree(tmp_path / "src", ["cat/1.png", "dog/2.png"])
    (tmp_path / "src" / "cat" / "link.png").symlink_to("1.png")
    (tmp_path / "src" / "emu").symlink_to(tmp_path / "src" / "dog")

    info = fetch(DataParams(source=str(tmp_path / "src")), tmp_path / "raw")

    assert info.classes == ["cat", "dog"]
    assert sorted(stored(tmp_path / "raw")) == ["cat/1.png", "dog/2.png"]
    assert ignored(tmp_path / "raw") == [
        "cat/link.png (symlink: not followed)",
        "emu (symlink: not followed)",
    ]


def test_tar_links_are_listed_as_ignored_not_followed(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in SMALL.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("cat/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "1.png"
        tar.addfile(link)

    fetch(DataParams(source=str(archive)), tmp_path / "raw")

    assert stored(tmp_path / "raw") == SMALL
    assert ignored(tmp_path / "raw") == ["cat/link.png (symlink: not followed)"]


# --- the zip reader -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA],
    ids=["stored", "deflated", "bzip2", "lzma"],
)
def test_zip_members_read_back_in_every_method(tmp_path, method):
    # Over READ_CHUNK, half noise and half zeros: several decompression steps of each kind.
    content = random.Random(0).randbytes(3 << 19) + bytes(3 << 19)
    archive = make_zip(tmp_path / "m.zip", {"cat/1.png": content, "cat/2.png": b""}, None, method)
    with open_tree(archive, "zip") as tree:
        assert dict(tree.iter_bytes({"cat/1.png": "a", "cat/2.png": "b"})) == {
            "a": content,
            "b": b"",
        }


def test_zip_member_failing_its_crc_is_refused_naming_it(tmp_path):
    def break_crc(archive: zipfile.ZipFile) -> None:
        archive.getinfo("cat/1.png").CRC ^= 1

    archive = make_zip(tmp_path / "crc.zip", SMALL, break_crc)
    with pytest.raises(SourceError, match=r"member 'cat/1.png': CRC-32 does not match"):
        fetch(DataParams(source=str(archive)), tmp_path / "raw")


def test_zip_members_it_cannot_read_are_listed_with_why(tmp_path):
    def mark(archive: zipfile.ZipFile) -> None:
        archive.getinfo("cat/locked.png").flag_bits |= 0x1
        archive.getinfo("cat/deflate64.png").compress_type = 9

    members = SMALL | {"cat/locked.png": b"x", "cat/deflate64.png": b"y"}
    archive = make_zip(tmp_path / "odd.zip", members, mark)

    fetch(DataParams(source=str(archive)), tmp_path / "raw")

    assert stored(tmp_path / "raw") == SMALL
    assert ignored(tmp_path / "raw") == [
        "cat/deflate64.png (compression method 9 not supported)",
        "cat/locked.png (encrypted: no password to read it with)",
    ]


def test_zip_with_a_member_zipfile_cannot_open_still_passes_the_cache_check(tmp_path):
    def mark(archive: zipfile.ZipFile) -> None:
        archive.getinfo("cat/deflate64.png").compress_type = 9

    archive = make_zip(tmp_path / "odd.zip", SMALL | {"cat/deflate64.png": b"y"}, mark)
    assert fetching._archive_problem(archive, "zip") is None
