"""`imgflow`: the project's command line.

imgflow run [--force] [--train-timeout-minutes M] [--project-dir DIR]
    run the whole pipeline through the Prefect flow; DVC skips what did not change
imgflow retrain [--set key=value ...] [--force] [--project-dir DIR]
    train a challenger apart from the workspace and promote it only through the gate
imgflow server [--host H] [--port P]
    a local Prefect server with its UI (SQLite in the project's .prefect/)
imgflow schedule (--cron EXPR | --interval 6h) [--set key=value ...]
    register the `retrain` deployment on the server in PREFECT_API_URL and serve it
imgflow compare [REV_A] [REV_B] [--md] [--all]
    params, metrics and classes that changed between two runs (default: HEAD and workspace)
imgflow predict PATH... [--model models/model.keras] [--top-k 3] [--format table|csv|json]
    classify image files and folders, prepared exactly as the training images were
imgflow export [--model models/model.keras] [--out models/export]
    the model as a TensorFlow SavedModel and a TFLite file, with its class names and preprocessing
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from imgflow.common.errors import StageError
from imgflow.params.loader import load_params
from imgflow.pipelines.dvc_runner import StageFailed
from imgflow.pipelines.server import prefect_api, server_command

# Prefect's local mode starts a temporary API server; on a busy 2-core machine it needs longer
# than the default 20 s to import and start. No telemetry: these machines may have no network.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
DEFAULT_SERVER_PORT = 4200
DEPLOYMENT_NAME = "retrain"
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def prefect_environment() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


class _StateReports(logging.Filter):
    """Keep Prefect's own failed-state lines out of the log: the stage printed its error once
    already, and they repeat it (the UI shows each run's final state and its message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(
            ("Task run failed with state", "Finished in state Failed", "Finished in state Crashed")
        )


def quiet_state_reports() -> None:
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(_StateReports())


def check_params(project: Path) -> bool:
    """params.yaml before anything runs: DVC deletes a stage's outputs before the stage can."""
    path = project / "params.yaml"
    if not path.exists():
        return True
    try:
        load_params(path)
    except StageError as exc:
        print(f"imgflow: error: {exc}", file=sys.stderr)
        print("imgflow: nothing ran; fix the key above and run again", file=sys.stderr)
        return False
    return True


def _run(args: argparse.Namespace) -> int:
    if not check_params(args.project_dir):
        return 1
    prefect_environment()
    with prefect_api():
        from imgflow.pipelines.flow import pipeline

        quiet_state_reports()
        state = pipeline(
            project_dir=str(args.project_dir),
            force=args.force,
            train_timeout_minutes=args.train_timeout_minutes,
            return_state=True,
        )
    if state.is_completed():
        return 0
    try:
        state.result()
    except StageFailed as exc:
        print(
            f"imgflow: stage '{exc.stage}' {exc.reason} (its error is above); its last good "
            "outputs, if it had any, are back in place",
            file=sys.stderr,
        )
    except Exception as exc:
        print(f"imgflow: {exc}", file=sys.stderr)
    return 1


def _retrain(args: argparse.Namespace) -> int:
    prefect_environment()
    with prefect_api():
        from imgflow.pipelines.retrain import retrain

        quiet_state_reports()
        state = retrain(
            project_dir=str(args.project_dir.resolve()),
            set_params=args.set,
            force=args.force,
            train_timeout_minutes=args.train_timeout_minutes,
            return_state=True,
        )
    if state.is_completed():
        return 0
    try:
        state.result()
    except Exception as exc:  # a stage's error, a bad param or source: its message says which
        print(f"imgflow: {exc}", file=sys.stderr)
    return 1


def _server(args: argparse.Namespace) -> int:
    """Run `prefect server start` in the foreground, its database in the project's .prefect/."""
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str((args.project_dir / ".prefect").resolve()))
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    url = f"http://{args.host}:{args.port}"
    print(f"imgflow: Prefect server and UI at {url} (state in {env['PREFECT_HOME']})")
    print(f"imgflow: point the project at it with: export PREFECT_API_URL={url}/api")
    return subprocess.call(server_command(args.host, args.port, ui=True), env=env)


def parse_interval(text: str) -> timedelta:
    """`90s`, `30m`, `6h` or `1d` as a time span; anything else fails naming the value."""
    match = _INTERVAL.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"--interval {text!r}: expected e.g. 30m, 6h or 1d")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _schedule(args: argparse.Namespace) -> int:
    prefect_environment()
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        print(
            "imgflow: schedule needs a Prefect server that outlives this command: start one with "
            "`imgflow server` and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)",
            file=sys.stderr,
        )
        return 2
    from imgflow.pipelines.schedule import serve_retrain

    serve_retrain(
        project_dir=args.project_dir.resolve(),
        set_params=args.set,
        cron=args.cron,
        interval=args.interval,
        name=args.name,
        train_timeout_minutes=args.train_timeout_minutes,
    )
    return 0


def _compare(args: argparse.Namespace) -> int:
    from imgflow.pipelines.compare import compare

    try:
        print(compare(args.project_dir, args.rev_a, args.rev_b, args.md, args.all, args.classes))
    except StageError as exc:
        print(f"imgflow: compare: {exc}", file=sys.stderr)
        return 1
    return 0


def _model_path(args: argparse.Namespace) -> Path:
    return args.model if args.model is not None else args.project_dir / "models" / "model.keras"


def _predict(args: argparse.Namespace) -> int:
    from imgflow.pipelines.predict import predict

    return predict(_model_path(args), args.paths, args.top_k, args.format)


def _export(args: argparse.Namespace) -> int:
    from imgflow.pipelines.export import export

    out = args.out if args.out is not None else args.project_dir / "models" / "export"
    return export(_model_path(args), out)


def positive_int(text: str) -> int:
    """An integer of at least 1; anything else fails naming the value."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgflow", description="Reproducible image classification."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--project-dir",
            type=Path,
            default=Path("."),
            help="folder holding dvc.yaml and params.yaml (default: here)",
        )
        sub.set_defaults(handler=handler)
        return sub

    def training_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--train-timeout-minutes",
            type=float,
            default=120.0,
            help="stop training after this long (default: 120)",
        )

    def set_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a param for the challenger, as `dvc exp run -S` (repeatable)",
        )

    run = command("run", "run the pipeline (Prefect flow over the DVC stages)", _run)
    run.add_argument("--force", action="store_true", help="rerun every stage even if unchanged")
    training_options(run)

    retrain = command(
        "retrain", "train a challenger and promote it only through the gate", _retrain
    )
    set_option(retrain)
    retrain.add_argument(
        "--force", action="store_true", help="train even if nothing changed since the champion"
    )
    training_options(retrain)

    server = command("server", "start a local Prefect server with its UI", _server)
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT, help="default: 4200")

    schedule = command("schedule", "serve the `retrain` deployment on a schedule", _schedule)
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='cron expression, e.g. "0 3 * * 1" (Mondays at 03:00)')
    when.add_argument("--interval", type=parse_interval, help="e.g. 30m, 6h or 1d")
    set_option(schedule)
    schedule.add_argument("--name", default=DEPLOYMENT_NAME, help="deployment name")
    training_options(schedule)

    compare = command("compare", "compare two runs: params, metrics, classes", _compare)
    compare.add_argument(
        "rev_a", nargs="?", default="HEAD", help="commit, branch, tag or DVC experiment (HEAD)"
    )
    compare.add_argument(
        "rev_b", nargs="?", default=None, help="the same, or `workspace` (the default)"
    )
    compare.add_argument("--md", action="store_true", help="Markdown tables (pull requests, CI)")
    compare.add_argument("--all", action="store_true", help="show unchanged metrics too")
    compare.add_argument("--classes", type=int, default=5, help="classes that moved, shown")

    def model_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--model",
            type=Path,
            default=None,
            help="a .keras file saved by train (default: models/model.keras in --project-dir)",
        )

    predict = command("predict", "classify image files and folders with the model", _predict)
    predict.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    model_option(predict)
    predict.add_argument(
        "--top-k", type=positive_int, default=3, help="classes shown per image (default: 3)"
    )
    predict.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )

    export = command("export", "export the model as a SavedModel and a TFLite file", _export)
    model_option(export)
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: models/export in --project-dir)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        # Between stages nothing needs putting back; a stage interrupted mid-run has said what
        # it put back already. One line, not Prefect's traceback.
        if os.environ.get("IMGFLOW_VERBOSE") == "1":
            raise
        print("imgflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
