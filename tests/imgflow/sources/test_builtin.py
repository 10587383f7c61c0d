"""imgflow/sources/builtin.py: the digits and CIFAR sources (CIFAR archives in the publisher's
format, served from 127.0.0.1), written through fetch."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgflow.common.artifacts import read_json
from imgflow.params.data import DataParams
from imgflow.sources.cifar import CIFAR10
from imgflow.sources.fetching import ChecksumError
from imgflow.sources.ingest import fetch
from tests.download_helpers import (
    CIFAR10_NAMES,
    CIFAR100_COARSE,
    CIFAR100_FINE,
    cifar10_archive,
    cifar100_archive,
    md5,
    serve,
    sha256,
)
from tests.imgflow.sources.helpers import stored

# --- digits --------------------------------------------------------------------------------


def test_fetch_digits_writes_pngs_and_dataset_json(tmp_path):
    raw = tmp_path / "data" / "raw"
    info = fetch(DataParams(source="digits", max_per_class=5), raw)

    files = sorted(stored(raw))
    assert len(files) == 50
    assert all(f.endswith(".png") for f in files)
    assert sorted({f.split("/")[0] for f in files}) == [str(d) for d in range(10)]
    assert all(len(f.split("/")) == 2 for f in files)
    with Image.open(io.BytesIO(stored(raw)[files[0]])) as image:
        assert image.size == (8, 8)
        assert image.mode == "L"

    dataset = read_json(raw / "dataset.json")
    assert dataset["name"] == "digits"
    assert dataset["classes"] == [str(d) for d in range(10)]
    assert dataset["splits"] == []
    assert dataset["declared_counts"] == {"all": {str(d): 5 for d in range(10)}}
    assert info.declared_counts == dataset["declared_counts"]


# --- CIFAR over HTTP (archives in the publisher's format, served from 127.0.0.1) -----------


@pytest.fixture
def cifar_server():
    c10, c10_truth = cifar10_archive()
    c100, _ = cifar100_archive()
    files = {"/kriz/cifar-10-python.tar.gz": c10, "/kriz/cifar-100-python.tar.gz": c100}
    with serve(files) as server:
        server.truth = c10_truth  # type: ignore[attr-defined]
        yield server


def cifar_params(server, tmp_path: Path, source: str = "cifar10", **overrides) -> DataParams:
    name = "cifar-10-python.tar.gz" if source == "cifar10" else "cifar-100-python.tar.gz"
    body = server.files[f"/kriz/{name}"]
    values = {
        "source": source,
        "url": server.url(f"kriz/{name}"),
        "md5": md5(body),
        "cache_dir": str(tmp_path / "downloads"),
        **overrides,
    }
    return DataParams(**values)


def test_fetch_cifar10_writes_split_pngs_and_declares_batch_counts(cifar_server, tmp_path):
    raw = tmp_path / "raw"
    info = fetch(cifar_params(cifar_server, tmp_path), raw)

    dataset = read_json(raw / "dataset.json")
    assert dataset["name"] == "cifar10"
    assert dataset["classes"] == sorted(CIFAR10_NAMES)
    assert dataset["splits"] == ["test", "train"]
    # 5 data batches of 1 image per class; a test batch of 2 per class (the real set: 5000/1000).
    assert dataset["declared_counts"] == {
        "test": {name: 2 for name in sorted(CIFAR10_NAMES)},
        "train": {name: 5 for name in sorted(CIFAR10_NAMES)},
    }
    assert info.declared_counts == dataset["declared_counts"]
    files = sorted(stored(raw))
    assert len(files) == 70
    assert {f.split("/")[0] for f in files} == {"train", "test"}

    rows, labels = cifar_server.truth["test"]
    with Image.open(io.BytesIO(stored(raw)[f"test/{CIFAR10_NAMES[labels[3]]}/00003.png"])) as image:
        assert image.mode == "RGB" and image.size == (32, 32)
        pixels = np.asarray(image)
    assert np.array_equal(pixels, rows[3].reshape(3, 32, 32).transpose(1, 2, 0))


def test_fetch_cifar10_rerun_uses_the_cache(cifar_server, tmp_path):
    params = cifar_params(cifar_server, tmp_path)
    fetch(params, tmp_path / "raw")
    fetch(params, tmp_path / "raw")
    assert len(cifar_server.requests) == 1
    assert [p.name for p in (tmp_path / "downloads").iterdir()] == ["cifar-10-python.tar.gz"]


def test_fetch_cifar10_max_per_class_caps_each_split(cifar_server, tmp_path):
    info = fetch(cifar_params(cifar_server, tmp_path, max_per_class=2), tmp_path / "raw")
    assert info.declared_counts["train"] == {name: 2 for name in sorted(CIFAR10_NAMES)}
    assert info.declared_counts["test"] == {name: 2 for name in sorted(CIFAR10_NAMES)}
    assert len(sorted(stored(tmp_path / "raw"))) == 40


def test_fetch_cifar_checks_the_publisher_md5_by_default(cifar_server, tmp_path):
    params = cifar_params(cifar_server, tmp_path, md5=None)
    with pytest.raises(ChecksumError) as info:
        fetch(params, tmp_path / "raw")
    body = cifar_server.files["/kriz/cifar-10-python.tar.gz"]
    assert CIFAR10.md5 in str(info.value) and md5(body) in str(info.value)
    assert not (tmp_path / "raw").exists()
    assert list((tmp_path / "downloads").iterdir()) == []  # the partial is gone


def test_fetch_cifar_sha256_override(cifar_server, tmp_path):
    body = cifar_server.files["/kriz/cifar-10-python.tar.gz"]
    params = cifar_params(cifar_server, tmp_path, md5=None, sha256=sha256(body))
    assert fetch(params, tmp_path / "raw").classes == sorted(CIFAR10_NAMES)


@pytest.mark.parametrize(("mode", "names"), [("fine", CIFAR100_FINE), ("coarse", CIFAR100_COARSE)])
def test_fetch_cifar100_label_modes(cifar_server, tmp_path, mode, names):
    params = cifar_params(cifar_server, tmp_path, source="cifar100", label_mode=mode)
    info = fetch(params, tmp_path / "raw")
    assert info.classes == sorted(names)
    assert info.name == ("cifar100" if mode == "fine" else "cifar100-coarse")
    folders = {f.rsplit("/", 1)[0] for f in sorted(stored(tmp_path / "raw"))}
    assert folders == {f"{split}/{name}" for split in ("train", "test") for name in names}
    # 2 images of each of 5 fine classes per split; coarse merges bear and beaver.
    if mode == "coarse":
        assert info.declared_counts["train"]["large_carnivores"] == 4


def test_fetch_cifar100_fine_records_each_class_superclass(cifar_server, tmp_path):
    fetch(cifar_params(cifar_server, tmp_path, source="cifar100"), tmp_path / "raw")
    hierarchy = read_json(tmp_path / "raw" / "dataset.json")["hierarchy"]
    assert hierarchy == {
        "apple": "fruit_and_vegetables",
        "aquarium_fish": "fish",
        "baby": "people",
        "bear": "large_carnivores",
        "beaver": "large_carnivores",
    }


def test_fetch_cifar100_coarse_and_cifar10_have_no_hierarchy(cifar_server, tmp_path):
    coarse = cifar_params(cifar_server, tmp_path, source="cifar100", label_mode="coarse")
    assert fetch(coarse, tmp_path / "coarse").hierarchy == {}
    assert fetch(cifar_params(cifar_server, tmp_path), tmp_path / "ten").hierarchy == {}
