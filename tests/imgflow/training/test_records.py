"""imgflow/training/records.py: history.json's record leaves timings out."""

from __future__ import annotations

from dataclasses import replace

from imgflow.training.loop import fit
from imgflow.training.records import training_record
from tests.imgflow.training.helpers import small, toy_split


def test_training_record_leaves_timings_out_so_a_slower_rerun_writes_the_same_file() -> None:
    training = fit(toy_split(32, 0), toy_split(16, 1), 2, small())
    slower = replace(training, seconds_per_epoch=[s + 60 for s in training.seconds_per_epoch])
    assert training_record(slower) == training_record(training)
    assert training_record(training)["epochs_run"] == 2
