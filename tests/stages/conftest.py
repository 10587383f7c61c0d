"""Fixtures for the stage tests: validate's data/raw holding every bad input, and a clean one
(defined in tests/imgflow/validation/helpers.py, shared with the tests of imgflow/validation)."""

from tests.imgflow.validation.helpers import bad_raw, clean_raw  # noqa: F401
