"""CIFAR-10 and CIFAR-100 from the publisher's python archives (cs.toronto.edu/~kriz/cifar.html).

Each archive holds pickled dicts (python 2, protocol 2; loaded with `encoding="bytes"`, so keys
are bytes): `data` is uint8 N x 3072, each row the red, green and blue 32x32 planes in row-major
order; labels are lists of ints indexing the class-name lists in the meta file. The publisher's
train/test split is kept as it is.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imgflow.common.errors import SourceError

SIDE = 32
ROW_BYTES = 3 * SIDE * SIDE


class CifarError(SourceError):
    """A CIFAR archive lacks a batch or holds one in an unexpected shape."""


@dataclass(frozen=True)
class CifarSpec:
    name: str
    url: str
    md5: str  # the publisher's, from the dataset page
    folder: str  # the one folder inside the archive
    splits: dict[str, tuple[str, ...]]  # split -> batch files, in order
    meta: str
    label_keys: dict[str, bytes]  # label_mode -> key in each batch
    names_keys: dict[str, bytes]  # label_mode -> key in the meta file


CIFAR10 = CifarSpec(
    name="cifar10",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    folder="cifar-10-batches-py",
    splits={"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
    meta="batches.meta",
    label_keys={"fine": b"labels"},
    names_keys={"fine": b"label_names"},
)
CIFAR100 = CifarSpec(
    name="cifar100",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    folder="cifar-100-python",
    splits={"train": ("train",), "test": ("test",)},
    meta="meta",
    label_keys={"fine": b"fine_labels", "coarse": b"coarse_labels"},
    names_keys={"fine": b"fine_label_names", "coarse": b"coarse_label_names"},
)
SPECS = {spec.name: spec for spec in (CIFAR10, CIFAR100)}

# What a numpy array in a pickle may refer to, and nothing else: unpickling can otherwise run
# any callable it names. `_codecs.encode` is how python 3 pickles bytes at protocol 2.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_batch(data: bytes, member: str) -> dict[bytes, Any]:
    """Unpickle one batch or meta file (python 2 strings stay bytes)."""
    try:
        batch = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise CifarError(f"{member}: not a CIFAR pickle: {exc}") from None
    if not isinstance(batch, dict):
        raise CifarError(f"{member}: expected a dict, got {type(batch).__name__}")
    return batch


def _key(batch: dict[bytes, Any], key: bytes, member: str) -> Any:
    if key not in batch:
        raise CifarError(
            f"{member}: no key {key.decode()!r} (has {sorted(k.decode() for k in batch)})"
        )
    return batch[key]


def class_names(meta: dict[bytes, Any], key: bytes, member: str) -> list[str]:
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in _key(meta, key, member)]
    if (
        not names
        or len(set(names)) != len(names)
        or any("/" in n or n.startswith(".") for n in names)
    ):
        raise CifarError(f"{member}: {key.decode()!r} is not a list of distinct class names")
    return names


def batch_images(
    batch: dict[bytes, Any], label_key: bytes, member: str, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 N x 32 x 32 x 3 RGB images, int64 labels) from one batch."""
    data = np.asarray(_key(batch, b"data", member))
    labels = np.asarray(_key(batch, label_key, member), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_BYTES:
        raise CifarError(
            f"{member}: data is {data.dtype} {data.shape}, expected uint8 N x {ROW_BYTES}"
        )
    if labels.shape != (len(data),):
        raise CifarError(f"{member}: {len(labels)} {label_key.decode()} for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise CifarError(f"{member}: {label_key.decode()} outside 0..{n_classes - 1}")
    # Row = R plane, G plane, B plane, each 32 rows of 32: to N x H x W x C.
    images = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


@dataclass(frozen=True)
class CifarData:
    classes: list[str]
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (images, labels)
    # fine class -> its coarse superclass (CIFAR-100 read with fine labels); empty otherwise
    hierarchy: dict[str, str]


def parse_cifar(members: dict[str, bytes], spec: CifarSpec, label_mode: str) -> CifarData:
    """Decode the batches of one archive (member name, relative to its folder -> bytes)."""
    if label_mode not in spec.label_keys:
        raise CifarError(f"data.label_mode: {label_mode!r} is not offered by {spec.name}")
    meta = load_batch(members[spec.meta], spec.meta)
    classes = class_names(meta, spec.names_keys[label_mode], spec.meta)
    with_groups = label_mode == "fine" and "coarse" in spec.label_keys
    groups = class_names(meta, spec.names_keys["coarse"], spec.meta) if with_groups else []
    splits = {}
    pairs: set[tuple[int, int]] = set()  # (fine, coarse) label pairs seen
    for split, batch_names in spec.splits.items():
        parts = []
        for name in batch_names:
            batch = load_batch(members[name], name)
            images, labels = batch_images(batch, spec.label_keys[label_mode], name, len(classes))
            parts.append((images, labels))
            if with_groups:
                _, coarse = batch_images(batch, spec.label_keys["coarse"], name, len(groups))
                pairs.update(zip(labels.tolist(), coarse.tolist(), strict=True))
        splits[split] = (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )
    groups_of: dict[str, set[str]] = {}
    for fine, coarse in pairs:
        groups_of.setdefault(classes[fine], set()).add(groups[coarse])
    split_up = sorted(name for name, found in groups_of.items() if len(found) > 1)
    if split_up:
        raise CifarError(f"{spec.name}: fine classes in two superclasses: {', '.join(split_up)}")
    hierarchy = {name: found.pop() for name, found in sorted(groups_of.items())}
    return CifarData(classes, splits, hierarchy)


def read_cifar(archive: Path, spec: CifarSpec, label_mode: str) -> CifarData:
    """Read the batches out of the (already verified) archive, without extracting it to disk."""
    wanted = {f"{spec.folder}/{name}": name for names in spec.splits.values() for name in names}
    wanted[f"{spec.folder}/{spec.meta}"] = spec.meta
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # one forward pass over the gzip stream
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    members[name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CifarError(f"{archive}: cannot read archive: {exc}") from exc
    missing = sorted(f"{spec.folder}/{n}" for n in set(wanted.values()) - set(members))
    if missing:
        raise CifarError(f"{archive}: not a {spec.name} archive, missing {', '.join(missing)}")
    return parse_cifar(members, spec, label_mode)
