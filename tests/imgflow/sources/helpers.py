"""Helpers shared by the tests of the download sources (tests/imgflow/sources) and of the
download stage (tests/stages/test_download.py): tiny PNGs, folder trees of them, and what
download stored."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from imgflow.data.raw_store import iter_contents


def png_bytes(value: int, size: tuple[int, int] = (6, 5)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (value % 256, (value * 7) % 256, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_tree(root: Path, relpaths: list[str]) -> None:
    """A tiny distinct PNG at each relative path under `root`."""
    for i, relpath in enumerate(relpaths):
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(i))


def stored(raw: Path) -> dict[str, bytes]:
    """What download stored in `raw`: file bytes by path."""
    return dict(iter_contents(raw))
