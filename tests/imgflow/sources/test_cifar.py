"""imgflow/sources/cifar.py: the publisher's pickled batches to images, labels and class names."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from imgflow.sources.cifar import (
    CIFAR10,
    CIFAR100,
    CifarError,
    batch_images,
    load_batch,
    parse_cifar,
    read_cifar,
)
from tests.download_helpers import (
    CIFAR10_NAMES,
    CIFAR100_COARSE,
    CIFAR100_FINE,
    FINE_TO_COARSE,
    cifar10_archive,
    cifar100_archive,
    tar_gz,
)


def test_publisher_urls_and_checksums():
    assert CIFAR10.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert CIFAR10.md5 == "c58f30108f718f92721af3b95e74349a"
    assert CIFAR100.url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert CIFAR100.md5 == "eb9058c3a382ffc7106e4002c42a8d85"


def test_batch_rows_become_rgb_images():
    # One image whose red plane is 255, green 0, blue a ramp over the columns.
    planes = np.zeros((3, 32, 32), np.uint8)
    planes[0] = 255
    planes[2] = np.arange(32, dtype=np.uint8)[None, :]
    batch = {b"data": planes.reshape(1, 3072), b"labels": [1]}
    images, labels = batch_images(batch, b"labels", "data_batch_1", n_classes=2)
    assert images.shape == (1, 32, 32, 3) and images.dtype == np.uint8
    assert images[0, 5, 7].tolist() == [255, 0, 7]
    assert labels.tolist() == [1]


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ({b"labels": [0]}, "no key 'data'"),
        ({b"data": np.zeros((1, 3072), np.float32), b"labels": [0]}, "expected uint8"),
        ({b"data": np.zeros((1, 1024), np.uint8), b"labels": [0]}, "expected uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "1 labels for 2 images"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [5]}, "outside 0..1"),
    ],
)
def test_bad_batches_name_the_member(batch, match):
    with pytest.raises(CifarError, match=match) as info:
        batch_images(batch, b"labels", "data_batch_3", n_classes=2)
    assert str(info.value).startswith("data_batch_3:")


def test_unpickling_refuses_anything_but_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(CifarError, match=r"refusing to load \S*builtin\S*\.print"):
        load_batch(pickle.dumps({b"data": Evil()}, protocol=2), "data_batch_1")


def test_read_cifar10_archive_keeps_split_and_names(tmp_path):
    data, expected = cifar10_archive()
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(data)
    cifar = read_cifar(archive, CIFAR10, "fine")
    assert cifar.classes == CIFAR10_NAMES
    assert sorted(cifar.splits) == ["test", "train"]
    for split, (rows, labels) in expected.items():
        images, got_labels = cifar.splits[split]
        assert got_labels.tolist() == labels.tolist()
        assert np.array_equal(images, rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert np.bincount(cifar.splits["train"][1]).tolist() == [5] * 10  # 5 batches x 1


@pytest.mark.parametrize(
    ("mode", "names", "mapping"),
    [("fine", CIFAR100_FINE, None), ("coarse", CIFAR100_COARSE, FINE_TO_COARSE)],
)
def test_read_cifar100_fine_and_coarse(tmp_path, mode, names, mapping):
    data, expected = cifar100_archive()
    archive = tmp_path / "cifar-100-python.tar.gz"
    archive.write_bytes(data)
    cifar = read_cifar(archive, CIFAR100, mode)
    assert cifar.classes == names
    fine = expected["train"][1]
    want = fine if mapping is None else np.array(mapping)[fine]
    assert cifar.splits["train"][1].tolist() == want.tolist()


def test_cifar10_has_no_coarse_labels():
    with pytest.raises(CifarError, match="data.label_mode: 'coarse'"):
        parse_cifar({}, CIFAR10, "coarse")


def test_archive_missing_a_batch_names_it(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(tar_gz({"cifar-10-batches-py/batches.meta": b""}))
    with pytest.raises(CifarError, match="cifar-10-batches-py/data_batch_1") as info:
        read_cifar(archive, CIFAR10, "fine")
    assert str(archive) in str(info.value)


def test_cifar100_archive_is_not_cifar10(tmp_path):
    archive = tmp_path / "cifar-100-python.tar.gz"
    archive.write_bytes(cifar100_archive()[0])
    with pytest.raises(CifarError, match="not a cifar10 archive"):
        read_cifar(archive, CIFAR10, "fine")


def cifar100_members(fine: list[int], coarse: list[int]) -> dict[str, bytes]:
    rows = np.zeros((len(fine), 3072), np.uint8)
    batch = {b"data": rows, b"fine_labels": fine, b"coarse_labels": coarse}
    meta = {
        b"fine_label_names": [c.encode() for c in CIFAR100_FINE],
        b"coarse_label_names": [c.encode() for c in CIFAR100_COARSE],
    }
    return {"train": pickle.dumps(batch), "test": pickle.dumps(batch), "meta": pickle.dumps(meta)}


def test_fine_labels_come_with_each_class_superclass():
    data = parse_cifar(cifar100_members([0, 3, 4], [0, 3, 3]), CIFAR100, "fine")
    assert data.hierarchy == {
        "apple": "fruit_and_vegetables",
        "bear": "large_carnivores",
        "beaver": "large_carnivores",
    }


def test_a_fine_class_in_two_superclasses_is_named():
    with pytest.raises(CifarError, match="fine classes in two superclasses: bear"):
        parse_cifar(cifar100_members([3, 3, 0], [3, 1, 0]), CIFAR100, "fine")
