"""The `data` section: which source download reads, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from imgflow.params.types import Int, Section

CIFAR_SOURCES = ("cifar10", "cifar100")
# The largest file download can store: one value of the Parquet image table
# (imgflow/data/raw_store.py MAX_VALUE_BYTES; not imported: that would load pyarrow with every
# params file).
MAX_FILE_BYTES_LIMIT = (1 << 31) - (1 << 20)


class DataParams(Section):
    source: str = Field(min_length=1)
    max_per_class: Int | None = Field(default=None, gt=0)
    seed: Int = 0
    # Where to fetch a CIFAR archive from instead of the publisher (a mirror, a file:// URL).
    url: str | None = Field(default=None, pattern=r"^(https?|file)://\S+$")
    md5: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    label_mode: Literal["fine", "coarse"] = "fine"
    labels_file: str | None = Field(default=None, min_length=1)
    labels_order: Literal["sorted", "id"] = "sorted"
    on_label_mismatch: Literal["fail", "labelled_only"] = "fail"
    cache_dir: str = Field(default="data/downloads", min_length=1)
    # Folder, archive and URL sources: a file declaring more is set aside unread (listed in
    # dataset.json), and files to store declaring more together stop the run.
    max_file_bytes: Int = Field(default=64 << 20, gt=0, le=MAX_FILE_BYTES_LIMIT)
    max_total_bytes: Int = Field(default=32 << 30, gt=0)

    @model_validator(mode="after")
    def _keys_match_source(self) -> DataParams:
        # A key the chosen source would ignore is a mistake worth stopping for, not a no-op.
        is_cifar = self.source in CIFAR_SOURCES
        if self.url is not None and not is_cifar:
            raise ValueError(
                f"data.url only overrides the cifar10/cifar100 download; for source "
                f"{self.source!r} put the URL in data.source"
            )
        if self.label_mode != "fine" and self.source != "cifar100":
            raise ValueError(
                f"data.label_mode applies only to source cifar100, not {self.source!r}"
            )
        if self.labels_file is not None and (is_cifar or self.source == "digits"):
            raise ValueError(f"data.labels_file cannot be used with source {self.source!r}")
        if self.labels_file is None:
            for key, default in (("labels_order", "sorted"), ("on_label_mismatch", "fail")):
                if getattr(self, key) != default:
                    raise ValueError(f"data.{key} needs data.labels_file to be set")
        if self.source == "digits" and (self.md5 or self.sha256):
            raise ValueError("data.md5/data.sha256 have nothing to check for source 'digits'")
        if is_cifar or self.source == "digits":
            for key in ("max_file_bytes", "max_total_bytes"):
                if getattr(self, key) != type(self).model_fields[key].default:
                    raise ValueError(
                        f"data.{key} applies to folder, archive and URL sources, "
                        f"not {self.source!r}"
                    )
        return self
