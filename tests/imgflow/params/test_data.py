"""imgflow/params/data.py: the shipped data params and each bad key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgflow.params.loader import load_params, parse_params
from imgflow.params.types import ParamsError


def test_shipped_params_keep_digits_and_download_defaults():
    shipped = Path(__file__).resolve().parents[3] / "params.yaml"
    data = load_params(shipped).data
    assert data.source == "digits"
    assert (data.url, data.md5, data.sha256, data.labels_file) == (None, None, None, None)
    assert (data.label_mode, data.labels_order, data.on_label_mismatch) == (
        "fine",
        "sorted",
        "fail",
    )
    assert data.cache_dir == "data/downloads"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "cifar10", "label_mode": "coarse"}, "data.label_mode applies only"),
        ({"source": "x.zip", "url": "https://a/b.tgz"}, "data.url only overrides"),
        ({"source": "cifar10", "labels_file": "l.txt"}, "data.labels_file cannot be used"),
        ({"source": "x.zip", "labels_order": "id"}, "data.labels_order needs data.labels_file"),
        ({"source": "digits", "md5": "0" * 32}, "nothing to check"),
        ({"source": "cifar10", "md5": "xyz"}, "data.md5: String should match pattern"),
        ({"source": "cifar10", "url": "ftp://x/y"}, "data.url: String should match pattern"),
        ({"source": "cifar100", "label_mode": "medium"}, "data.label_mode: Input should be"),
        ({"source": "x", "on_label_mismatch": "zip"}, "data.on_label_mismatch: Input should"),
    ],
)
def test_data_params_name_the_bad_key(data, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(
            {
                "data": data,
                "resize": {},
                "split": {},
                "train": {},
                "evaluate": {},
                "plot": {},
                "validate": {},
            }
        )
