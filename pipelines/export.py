"""`imgflow export`: the saved model as a TensorFlow SavedModel and a TFLite file, with a JSON
of its class names and preprocessing beside them (`imgflow.inference.export`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from imgflow.common.errors import StageError, describe_os_error
from imgflow.inference.classifier import load_classifier
from imgflow.inference.export import export_model

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def export(model: Path, out_dir: Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Export the model file `model` into `out_dir`, report to `out` (default: stdout) and `err`
    (stderr); return the exit status: 2 for a model that cannot be used, 1 for a folder that
    cannot be written."""
    out, err = out or sys.stdout, err or sys.stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        classifier = load_classifier(model)
    except StageError as exc:
        print(f"imgflow export: error: {exc}", file=err)
        return EXIT_ERROR
    try:
        exported = export_model(classifier.model, classifier.metadata, out_dir)
    except OSError as exc:
        print(f"imgflow export: error: {describe_os_error(exc)}", file=err)
        return EXIT_FAILED
    print(f"imgflow export: {model} ->", file=out)
    print(f"  {exported.saved_model}/  SavedModel, signature 'serve'", file=out)
    print(f"  {exported.tflite}  TFLite, {exported.tflite_precision}", file=out)
    print(f"  {exported.metadata}  class names and preprocessing", file=out)
    return EXIT_OK
