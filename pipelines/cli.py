"""`imgflow`: the project's command line.

imgflow run [--force] [--train-timeout-minutes M] [--project-dir DIR]
    run the whole pipeline through the Prefect flow; DVC skips what did not change
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from imgflow.pipelines.dvc_runner import StageFailed

# Prefect's local mode starts a temporary API server; on a busy 2-core machine it needs longer
# than the default 20 s to import and start. No telemetry: these machines may have no network.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def _run(args: argparse.Namespace) -> int:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from imgflow.pipelines.flow import pipeline

    try:
        pipeline(
            project_dir=str(args.project_dir),
            force=args.force,
            train_timeout_minutes=args.train_timeout_minutes,
        )
    except StageFailed as exc:
        print(f"imgflow: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgflow", description="Reproducible image classification."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline (Prefect flow over the DVC stages)")
    run.add_argument(
        "--project-dir",
        type=Path,
        default=Path("."),
        help="folder holding dvc.yaml and params.yaml (default: here)",
    )
    run.add_argument("--force", action="store_true", help="rerun every stage even if unchanged")
    run.add_argument(
        "--train-timeout-minutes",
        type=float,
        default=120.0,
        help="stop training after this long (default: 120)",
    )
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
