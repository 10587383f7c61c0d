import os
import sys

import pytest

from imgflow.common.warm_process import WarmProcess, WarmProcessFailed

MODULE = "imgflow_warm_probe"  # written by the `probe_module` fixture: nothing else imports it


@pytest.fixture(autouse=True)
def probe_module(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(tmp_path)
    yield
    sys.modules.pop(MODULE, None)


def where_and_loaded(name: str) -> tuple[int, bool]:
    return os.getpid(), name in sys.modules


def fail(message: str) -> None:
    raise ValueError(message)


def die(code: int) -> None:
    os._exit(code)


def test_call_runs_in_a_child_with_the_modules_imported() -> None:
    assert MODULE not in sys.modules
    with WarmProcess((MODULE,)) as warm:
        pid, loaded = warm.call(where_and_loaded, MODULE)
    assert pid != os.getpid() and loaded
    assert MODULE not in sys.modules  # the parent never paid for it


def test_error_in_the_call_comes_back_with_its_traceback() -> None:
    with WarmProcess(()) as warm, pytest.raises(WarmProcessFailed) as info:
        warm.call(fail, "bad table")
    assert "ValueError: bad table" in str(info.value) and "Traceback" in str(info.value)


def test_failed_import_is_the_calls_error() -> None:
    with WarmProcess(("no_such_module_here",)) as warm, pytest.raises(WarmProcessFailed) as info:
        warm.call(where_and_loaded, MODULE)
    assert "No module named 'no_such_module_here'" in str(info.value)


def test_child_that_dies_is_reported_with_its_exit_code() -> None:
    with WarmProcess(()) as warm, pytest.raises(WarmProcessFailed, match="exit code 3"):
        warm.call(die, 3)


def test_child_ends_when_the_parent_needs_nothing() -> None:
    with WarmProcess((MODULE,)) as warm:
        process = warm._process
    assert not process.is_alive() and process.exitcode == 0
