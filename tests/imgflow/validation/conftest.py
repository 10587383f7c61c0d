"""Fixtures for the tests of imgflow/validation: a data/raw holding every bad input, and a clean
one (defined in tests/imgflow/validation/helpers.py, shared with tests/stages)."""

from tests.imgflow.validation.helpers import bad_raw, clean_raw  # noqa: F401
