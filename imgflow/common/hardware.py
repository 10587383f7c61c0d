"""What the machine computes natively, for `train.mixed_precision: auto` and for provenance.

bfloat16 pays only where the hardware multiplies in it; where oneDNN has to emulate it (CPUs
without bfloat16 instructions), the same network runs far slower than in float32. So `auto`
looks before it chooses (docs/decisions/bfloat16-auto.md).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# CPU features with native bfloat16 matrix arithmetic that oneDNN (TensorFlow's CPU kernels)
# uses: AVX-512 BF16 dot products, and Intel's AMX tiles.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# Other features worth recording with a result: they change what is fast.
RECORDED_CPU_FLAGS = ("avx2", "avx512f", *BFLOAT16_CPU_FLAGS)
# NVIDIA GPUs compute bfloat16 natively from Ampere (compute capability 8.0) on.
BFLOAT16_GPU_CAPABILITY = (8, 0)

Precision = Literal["none", "bfloat16"]


@dataclass(frozen=True)
class Hardware:
    """What `detect` found: the CPU's name and feature flags, and each visible GPU's compute
    capability (none on CPU-only machines)."""

    cpu_model: str = ""
    cpu_flags: frozenset[str] = frozenset()
    gpu_capabilities: tuple[tuple[int, int], ...] = ()

    def describe(self) -> dict[str, object]:
        """For provenance files: CPU count and name, the features that matter, the GPUs."""
        return {
            "cpus": os.cpu_count(),
            "cpu_model": self.cpu_model,
            "isa": [flag for flag in RECORDED_CPU_FLAGS if flag in self.cpu_flags],
            "gpus": [f"{major}.{minor}" for major, minor in self.gpu_capabilities],
            "platform": platform.platform(),
        }


def read_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """The first processor's model name and flags from Linux's /proc/cpuinfo text."""
    model, flags = "", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags":
            flags = frozenset(value.split())
            break
    return model, flags


def detect(with_gpus: bool = False) -> Hardware:
    """This machine. GPUs are listed only when asked, as that imports TensorFlow."""
    cpuinfo = Path("/proc/cpuinfo")
    # Elsewhere (macOS, Windows) no flags are known, so `auto` stays in float32 on the CPU.
    model, flags = read_cpuinfo(cpuinfo.read_text()) if cpuinfo.exists() else ("", frozenset())
    return Hardware(model or platform.processor(), flags, gpu_capabilities() if with_gpus else ())


def gpu_capabilities() -> tuple[tuple[int, int], ...]:
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        found.append(tuple(capability) if capability else (0, 0))
    return tuple(found)


def choose_precision(setting: str, hardware: Hardware) -> tuple[Precision, str]:
    """The precision `train.mixed_precision` asks for on `hardware`, and why, in words."""
    if setting == "none":
        return "none", "train.mixed_precision: none"
    if setting == "bfloat16":
        return "bfloat16", "train.mixed_precision: bfloat16"
    if hardware.gpu_capabilities:
        # Training runs on the GPU then; its arithmetic is what counts, not the CPU's.
        if all(capability >= BFLOAT16_GPU_CAPABILITY for capability in hardware.gpu_capabilities):
            return "bfloat16", "auto: the GPU computes bfloat16 natively"
        return "none", "auto: a GPU older than compute capability 8.0 emulates bfloat16"
    native = [flag for flag in BFLOAT16_CPU_FLAGS if flag in hardware.cpu_flags]
    if native:
        return "bfloat16", f"auto: the CPU has {' and '.join(native)}"
    return "none", "auto: the CPU has no native bfloat16 (avx512_bf16 or amx_bf16)"
