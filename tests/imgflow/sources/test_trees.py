"""imgflow/sources/trees.py: folder, archive and URL sources in image-folder layout or with a
labels file, written through fetch."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from imgflow.common.artifacts import read_json
from imgflow.params.data import DataParams
from imgflow.sources.fetching import ChecksumError, SourceError, UnsafeArchiveError
from imgflow.sources.ingest import fetch
from imgflow.sources.labels_file import LabelsError
from tests.download_helpers import md5, serve
from tests.imgflow.sources.helpers import png_bytes, stored, write_tree

# --- folders and local archives ------------------------------------------------------------


def test_fetch_folder_in_split_layout_stores_files_and_lists_junk(tmp_path):
    source = tmp_path / "src"
    images = ["train/cat/1.png", "train/cat/2.png", "train/dog/3.png", "test/cat/4.png"]
    write_tree(source, images)
    for junk in ["train/.DS_Store", "train/cat/Thumbs.db", "__MACOSX/train/cat/._1.png"]:
        (source / junk).parent.mkdir(parents=True, exist_ok=True)
        (source / junk).write_bytes(b"junk")

    raw = tmp_path / "raw"
    info = fetch(DataParams(source=str(source)), raw)

    assert sorted(stored(raw)) == sorted(images)
    for relpath in images:
        assert stored(raw)[relpath] == (source / relpath).read_bytes()
    dataset = read_json(raw / "dataset.json")
    assert dataset["ignored"] == [
        "__MACOSX/train/cat/._1.png",
        "train/.DS_Store",
        "train/cat/Thumbs.db",
    ]
    assert dataset["name"] == "src"
    assert dataset["classes"] == ["cat", "dog"]
    assert dataset["splits"] == ["test", "train"]
    assert dataset["declared_counts"] == {"test": {"cat": 1}, "train": {"cat": 2, "dog": 1}}
    assert info.splits == ["test", "train"]


def test_fetch_folder_applies_max_per_class(tmp_path):
    source = tmp_path / "src"
    write_tree(source, [f"cat/{i}.png" for i in range(6)] + ["dog/a.png"])
    info = fetch(DataParams(source=str(source), max_per_class=2), tmp_path / "raw")
    assert info.declared_counts == {"all": {"cat": 2, "dog": 1}}
    assert len(sorted(stored(tmp_path / "raw"))) == 3


def test_fetch_tar_gz_with_wrapper_folder(tmp_path):
    staging = tmp_path / "staging"
    images = ["mini/train/cat/1.png", "mini/train/dog/2.png", "mini/valid/dog/3.png"]
    write_tree(staging, images)
    (staging / "mini" / "train" / "cat" / "desktop.ini").write_text("junk")
    archive = tmp_path / "mini.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "mini", arcname="mini")

    raw = tmp_path / "raw"
    info = fetch(DataParams(source=str(archive)), raw)

    assert sorted(stored(raw)) == ["train/cat/1.png", "train/dog/2.png", "valid/dog/3.png"]
    assert stored(raw)["valid/dog/3.png"] == (staging / "mini/valid/dog/3.png").read_bytes()
    assert info.name == "mini"
    assert info.declared_counts == {"train": {"cat": 1, "dog": 1}, "val": {"dog": 1}}


def test_fetch_tar_made_with_dot_ignores_hidden_top_level_files(tmp_path):
    # `cd data && tar czf ../x.tgz .` stores members as ./cat/1.png, ./.DS_Store, ...
    staging = tmp_path / "staging"
    write_tree(staging, ["cat/1.png", "dog/2.png"])
    (staging / ".DS_Store").write_bytes(b"junk")
    archive = tmp_path / "dotted.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging, arcname=".")

    info = fetch(DataParams(source=str(archive)), tmp_path / "raw")
    assert info.declared_counts == {"all": {"cat": 1, "dog": 1}}


def test_fetch_corrupt_archive_raises_source_error(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"this is not gzip")
    with pytest.raises(SourceError, match="cannot read archive") as info:
        fetch(DataParams(source=str(archive)), tmp_path / "raw")
    assert str(archive) in str(info.value)
    assert not (tmp_path / "raw").exists()


def test_fetch_missing_source_names_key_and_value(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(SourceError) as info:
        fetch(DataParams(source=str(missing)), tmp_path / "raw")
    message = str(info.value)
    assert message.startswith("data.source:")
    assert repr(str(missing)) in message
    assert not (tmp_path / "raw").exists()
    assert list(tmp_path.iterdir()) == []


# --- image folders from URLs and archives ---------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_fetch_zip_from_http_url(tmp_path):
    body = zip_bytes({"pets/train/cat/1.png": png_bytes(1), "pets/test/dog/2.png": png_bytes(2)})
    with serve({"/pets.zip": body}) as server:
        params = DataParams(source=server.url("pets.zip"), cache_dir=str(tmp_path / "dl"))
        info = fetch(params, tmp_path / "raw")
        fetch(params, tmp_path / "raw")
        assert len(server.requests) == 1  # cached by URL even without a checksum
    assert info.name == "pets"
    assert info.declared_counts == {"test": {"dog": 1}, "train": {"cat": 1}}
    assert stored(tmp_path / "raw")["test/dog/2.png"] == png_bytes(2)


def test_fetch_url_without_suffix_is_sniffed(tmp_path):
    body = zip_bytes({"cat/1.png": png_bytes(1), "dog/2.png": png_bytes(2)})
    with serve({"/download?id=7": body}) as server:
        params = DataParams(source=server.url("download?id=7"), cache_dir=str(tmp_path / "dl"))
        info = fetch(params, tmp_path / "raw")
    assert info.declared_counts == {"all": {"cat": 1, "dog": 1}}


def test_fetch_file_url_tar_with_checksum(tmp_path):
    staging = tmp_path / "staging"
    write_tree(staging, ["cat/1.png", "dog/2.png"])
    archive = tmp_path / "local.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging, arcname=".")
    params = DataParams(source=archive.as_uri(), md5=md5(archive.read_bytes()))
    assert fetch(params, tmp_path / "raw").declared_counts == {"all": {"cat": 1, "dog": 1}}
    bad = DataParams(source=str(archive), sha256="0" * 64)
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        fetch(bad, tmp_path / "raw2")
    assert not (tmp_path / "raw2").exists()


def test_fetch_folder_with_checksum_is_an_error(tmp_path):
    write_tree(tmp_path / "src", ["cat/1.png"])
    with pytest.raises(SourceError, match="is a folder"):
        fetch(DataParams(source=str(tmp_path / "src"), md5="0" * 32), tmp_path / "raw")


def test_fetch_unsafe_zip_is_refused_before_writing(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes({"cat/1.png": png_bytes(1), "../../evil.png": b"x"}))
    with pytest.raises(UnsafeArchiveError, match="'../../evil.png'"):
        fetch(DataParams(source=str(archive)), tmp_path / "raw")
    assert not (tmp_path / "raw").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_fetch_tar_with_symlink_out_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cat/link.png")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(UnsafeArchiveError, match="cat/link.png"):
        fetch(DataParams(source=str(archive)), tmp_path / "raw")


# --- labels-file datasets -------------------------------------------------------------------


def xray_folder(root: Path, n_images: int, labels: str, name: str = "labels.txt") -> Path:
    write_tree(root / "Castings", [f"C0001_{i:04d}.png" for i in range(1, n_images + 1)])
    (root / "Castings" / name).write_text(labels)
    return root


def test_fetch_labels_file_sorted_float_labels(tmp_path):
    source = xray_folder(tmp_path / "xray", 3, "1.0000000e+00\n0.0000000e+00\n1.0000000e+00\n")
    params = DataParams(source=str(source), labels_file="labels.txt")
    info = fetch(params, tmp_path / "raw")
    assert sorted(stored(tmp_path / "raw")) == [
        "0/C0001_0002.png",
        "1/C0001_0001.png",
        "1/C0001_0003.png",
    ]
    assert read_json(tmp_path / "raw" / "dataset.json")["declared_counts"] == {
        "all": {"0": 1, "1": 2}
    }
    assert info.classes == ["0", "1"]


def test_fetch_labels_file_mismatch_fails_or_keeps_labelled(tmp_path, capsys):
    source = xray_folder(tmp_path / "xray", 5, "1\n0\n")
    with pytest.raises(LabelsError, match="2 labels for 5 images"):
        fetch(DataParams(source=str(source), labels_file="labels.txt"), tmp_path / "raw")
    assert not (tmp_path / "raw").exists()

    params = DataParams(
        source=str(source), labels_file="labels.txt", on_label_mismatch="labelled_only"
    )
    info = fetch(params, tmp_path / "raw")
    assert info.declared_counts == {"all": {"0": 1, "1": 1}}
    assert sorted(stored(tmp_path / "raw")) == ["0/C0001_0002.png", "1/C0001_0001.png"]
    assert "2 labels for 5 images" in capsys.readouterr().out


def test_fetch_labels_csv_by_id_from_zip(tmp_path):
    archive = tmp_path / "set.zip"
    archive.write_bytes(
        zip_bytes(
            {
                "set/labels.csv": b"id,label\nimgs/b.png,ok\nimgs/a.png,defect\n",
                "set/imgs/a.png": png_bytes(1),
                "set/imgs/b.png": png_bytes(2),
                "set/imgs/.DS_Store": b"junk",
            }
        )
    )
    params = DataParams(source=str(archive), labels_file="labels.csv", labels_order="id")
    info = fetch(params, tmp_path / "raw")
    assert sorted(stored(tmp_path / "raw")) == ["defect/imgs__a.png", "ok/imgs__b.png"]
    assert stored(tmp_path / "raw")["defect/imgs__a.png"] == png_bytes(1)
    assert info.declared_counts == {"all": {"defect": 1, "ok": 1}}


def test_fetch_labels_file_not_found_names_key(tmp_path):
    write_tree(tmp_path / "src", ["a.png"])
    with pytest.raises(SourceError, match="data.labels_file: 'labels.txt' found 0 times"):
        fetch(DataParams(source=str(tmp_path / "src"), labels_file="labels.txt"), tmp_path / "r")
