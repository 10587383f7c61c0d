"""`imgflow predict`: classify image files and folders with a saved model, top classes first.

Each file is prepared exactly as the training images were (`imgflow.inference.preprocess`, with
the preprocessing the model file records). A file that is not a usable image, or cannot be
read, is named on stderr with the reason and skipped. Exit status: 0 when every file was
classified, 1 when any was skipped, 2 for a usage or model error (nothing classified).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from imgflow.data.imaging import ImageRejected
from imgflow.data.layout import is_junk
from imgflow.inference.classifier import BATCH, Classifier, load_classifier
from imgflow.inference.output import Format, render
from imgflow.inference.preprocess import prepare
from imgflow.inference.ranking import Ranked, top_k
from imgflow.models.metadata import MetadataError

EXIT_OK, EXIT_SKIPPED, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def image_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """The files to classify, in the order given, each folder's recursively in name order.

    Inside a folder, hidden files and OS metadata (`.DS_Store`, `Thumbs.db`) are passed over
    as download does; a file named on the command line is always tried. Links to folders are
    not followed (no loops). A path that is missing, or a folder with no files, is skipped.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in map(Path, paths):
        if given.is_dir():
            found = sorted(_walk(given))
            if not found:
                skipped.append(Skipped(str(given), "folder holds no image files"))
            for path in found:
                add(path)
        elif given.exists():
            add(given)
        else:
            skipped.append(Skipped(str(given), "no such file or folder"))
    return files, skipped


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, names in os.walk(folder):
        relroot = Path(root).relative_to(folder).as_posix()
        dirs[:] = [d for d in dirs if not is_junk(d)]
        for name in names:
            relpath = name if relroot == "." else f"{relroot}/{name}"
            if not is_junk(relpath):
                yield Path(root) / name


def read_and_prepare(path: Path, classifier: Classifier) -> np.ndarray | Skipped:
    """The model input for one file, or why it is skipped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"cannot read it ({exc.strerror or type(exc).__name__})")
    try:
        return prepare(data, classifier.metadata)
    except ImageRejected as exc:
        return Skipped(str(path), str(exc))


def classify(
    files: Sequence[Path], classifier: Classifier, k: int, err: TextIO | None = None
) -> tuple[list[Ranked], list[Skipped]]:
    """Top-`k` classes of each file that prepares, a batch at a time; the rest, skipped, are
    named on `err` (default: stderr) as they are met."""
    results: list[Ranked] = []
    skipped: list[Skipped] = []
    for start in range(0, len(files), BATCH):
        names, images = [], []
        for path in files[start : start + BATCH]:
            prepared = read_and_prepare(path, classifier)
            if isinstance(prepared, Skipped):
                report_skipped(prepared, err)
                skipped.append(prepared)
            else:
                names.append(str(path))
                images.append(prepared)
        if images:
            probabilities = classifier.probabilities(np.stack(images))
            results.extend(top_k(names, probabilities, classifier.metadata.classes, k))
    return results, skipped


def report_skipped(skipped: Skipped, err: TextIO | None = None) -> None:
    print(f"imgflow predict: skipped {skipped.path}: {skipped.reason}", file=err or sys.stderr)


def predict(
    model: Path,
    paths: Sequence[str | Path],
    k: int = 3,
    fmt: Format = "table",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Classify `paths` with the model file `model`, print the results to `out` (default:
    stdout) in `fmt`, skipped files to `err` (stderr); return the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    files, missing = image_files(paths)
    for skipped in missing:
        report_skipped(skipped, err)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        classifier = load_classifier(model)
    except MetadataError as exc:
        print(f"imgflow predict: error: {exc}", file=err)
        return EXIT_ERROR
    results, unreadable = classify(files, classifier, k, err)
    out.write(render(results, fmt))
    failed = len(missing) + len(unreadable)
    if failed:
        print(
            f"imgflow predict: {len(results)} files classified, {failed} skipped (named above)",
            file=err,
        )
        return EXIT_SKIPPED
    return EXIT_OK
