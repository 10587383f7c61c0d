"""imgflow/params/validate.py: bad validate params are refused, naming the key."""

from __future__ import annotations

import pytest

from imgflow.params.loader import parse_params
from imgflow.params.types import ParamsError


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on_corrupt", "skip"),
        ("on_leak", "keep"),
        ("max_image_pixels", 0),
        ("max_image_pixels", True),
    ],
)
def test_validate_params_reject_bad_values(key, value):
    raw = {"data": {"source": "digits"}, "validate": {key: value}}
    raw |= {s: {} for s in ("resize", "split", "train", "evaluate", "plot")}
    with pytest.raises(ParamsError, match=f"validate.{key}"):
        parse_params(raw)
