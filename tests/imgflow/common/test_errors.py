import subprocess
import sys
from pathlib import Path

from imgflow.common.errors import EXIT_TRANSIENT, SourceError, StageError

ROOT = Path(__file__).resolve().parents[3]


def run_stage_script(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a stage-like script that ends in run_stage, as `python -m stages.<name>` does."""
    script = (
        "import atexit, pathlib, sys\n"
        "from imgflow.common.errors import StageError, run_stage\n"
        f"marker = pathlib.Path({str(tmp_path / 'atexit-ran')!r})\n"
        "atexit.register(marker.write_text, 'yes')\n"
        "def main():\n"
        f"{body}\n"
        "run_stage('demo', main)\n"
        "print('after run_stage')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_success_exits_zero_with_output_flushed_and_exit_handlers_run(tmp_path: Path) -> None:
    result = run_stage_script("    print('demo: done', end='')", tmp_path)
    assert result.returncode == 0
    assert result.stdout == "demo: done"  # flushed, and nothing after run_stage ran
    assert (tmp_path / "atexit-ran").read_text() == "yes"


def test_stage_error_exits_one_naming_the_stage(tmp_path: Path) -> None:
    result = run_stage_script("    raise StageError('params.yaml: bad key x')", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "demo: error: params.yaml: bad key x"


def test_transient_error_exits_with_the_retry_status(tmp_path: Path) -> None:
    body = "    from imgflow.common.errors import TransientError\n    raise TransientError('reset')"
    result = run_stage_script(body, tmp_path)
    assert result.returncode == EXIT_TRANSIENT == 75
    assert result.stderr.strip() == "demo: error: reset"


def test_other_exceptions_keep_their_traceback(tmp_path: Path) -> None:
    result = run_stage_script("    raise ValueError('a bug')", tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ValueError: a bug" in result.stderr


def test_source_error_is_a_stage_error():
    assert issubclass(SourceError, StageError)
