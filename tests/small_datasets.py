"""Builders of the small datasets a new user brings: a folder of photos and an X-ray-like set
with a labels file. Both are made by the tests, deterministically from a seed."""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CIFAR_JPG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def cifar_train_images(archive: Path, classes: Sequence[str], per_class: int) -> dict[str, list]:
    """The first `per_class` training JPEGs of each class, decoded, in archive order."""
    wanted = {name: [] for name in classes}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "train" or parts[2] not in wanted:
                continue
            images = wanted[parts[2]]
            if len(images) < per_class:
                with tar.extractfile(member) as file:  # type: ignore[union-attr]
                    images.append(Image.open(file).convert("RGB"))
            if all(len(found) == per_class for found in wanted.values()):
                break
    return wanted


def build_photo_set(
    root: Path,
    archive: Path = CIFAR_JPG,
    classes: Sequence[str] = ("automobile", "horse"),
    train: Sequence[int] = (120, 125),
    val: int = 30,
    seed: int = 0,
) -> Path:
    """`root/train/<class>/` and `root/val/<class>/` JPEGs made from CIFAR-10 training images,
    each upscaled to its own width and height between 150 and 500 pixels, as phone photos
    shrunk for sharing would vary. Returns `root`."""
    rng = np.random.default_rng(seed)
    found = cifar_train_images(archive, classes, max(train) + val)
    for name, n_train in zip(classes, train, strict=True):
        for index, image in enumerate(found[name][: n_train + val]):
            split = "train" if index < n_train else "val"
            width, height = (int(side) for side in rng.integers(150, 501, size=2))
            path = root / split / name / f"IMG_{index:04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.resize((width, height), Image.Resampling.BICUBIC).save(path, quality=90)
    return root


def xray_image(rng: np.random.Generator, disc: bool) -> Image.Image:
    """A grayscale frame of its own size: a smooth dark field with noise and, for the positive
    class, a bright disc somewhere away from the edges."""
    width, height = (int(side) for side in rng.integers(120, 400, size=2))
    base = rng.uniform(40, 90)
    ramp = np.linspace(0, rng.uniform(-25, 25), width)[None, :]
    field = base + ramp + rng.normal(0, 12, size=(height, width))
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), mode="L")
    if disc:
        radius = rng.uniform(0.08, 0.16) * min(width, height)
        x = rng.uniform(radius * 1.5, width - radius * 1.5)
        y = rng.uniform(radius * 1.5, height - radius * 1.5)
        layer = Image.new("L", image.size, 0)
        ImageDraw.Draw(layer).ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
        mask = layer.filter(ImageFilter.GaussianBlur(radius / 6))
        bright = Image.new("L", image.size, int(rng.uniform(190, 235)))
        image = Image.composite(bright, image, mask)
    return image


def build_xray_set(
    root: Path, images: int = 503, labels: int = 200, positive_share: float = 0.45, seed: int = 0
) -> Path:
    """`root/img1.png` ... `root/img<images>.png` and `root/labels.txt` with one float label per
    line (`1.0000000e+00` for a disc, as GDXray writes them) for the first `labels` images in
    natural file-name order; the rest are unlabelled. Returns `root`."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for number in range(1, images + 1):
        disc = bool(rng.random() < positive_share)
        xray_image(rng, disc).save(root / f"img{number}.png")
        if number <= labels:
            lines.append(f"{float(disc):.7e}")
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    return root
