"""imgflow/validation/run.py: a large dataset's checks run in the Great Expectations process with
the same report."""

from __future__ import annotations

from imgflow.common.warm_process import WarmProcess
from imgflow.validation import run as validate_module
from imgflow.validation.run import run
from tests.imgflow.validation.helpers import params


def test_large_dataset_checks_run_in_the_gx_process_with_the_same_report(bad_raw, monkeypatch):
    chosen = params(on_label_conflict="drop", on_leak="drop")
    here = run(bad_raw, chosen)
    monkeypatch.setattr(validate_module, "PARALLEL_FROM", 1)  # "large": checks in the child
    calls = []
    monkeypatch.setattr(validate_module.WarmProcess, "call", record(calls, WarmProcess.call))
    there = run(bad_raw, chosen)
    assert [fn.__name__ for fn in calls] == ["check_tables"]
    assert there.report == here.report
    assert there.manifest.equals(here.manifest)


def record(calls: list, call):
    def recording(self, fn, *args):
        calls.append(fn)
        return call(self, fn, *args)

    return recording
