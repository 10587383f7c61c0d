import pytest

from imgflow.common.hardware import Hardware, choose_precision, read_cpuinfo

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B45
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16

processor\t: 1
model name\t: AMD EPYC 9B45
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16
"""
AVX2_ONLY = Hardware("Intel Xeon", frozenset({"avx2", "fma"}))
AVX512_BF16 = Hardware("AMD EPYC", frozenset({"avx2", "avx512f", "avx512_bf16"}))
AMX = Hardware("Intel Xeon", frozenset({"avx512f", "amx_bf16", "amx_tile"}))


def test_cpuinfo_gives_the_first_processors_model_and_flags() -> None:
    assert read_cpuinfo(CPUINFO) == (
        "AMD EPYC 9B45",
        frozenset({"fpu", "sse2", "avx2", "avx512f", "avx512_bf16"}),
    )


def test_cpuinfo_without_flags_gives_none() -> None:
    assert read_cpuinfo("processor\t: 0\n") == ("", frozenset())


@pytest.mark.parametrize("hardware", [AVX512_BF16, AMX])
def test_auto_chooses_bfloat16_on_cpus_that_compute_it(hardware: Hardware) -> None:
    precision, why = choose_precision("auto", hardware)
    assert precision == "bfloat16"
    assert "bf16" in why


def test_auto_stays_in_float32_where_bfloat16_is_emulated() -> None:
    precision, why = choose_precision("auto", AVX2_ONLY)
    assert precision == "none"
    assert "no native bfloat16" in why


def test_auto_on_a_gpu_follows_the_gpu_not_the_cpu() -> None:
    ampere = Hardware("Intel Xeon", frozenset({"avx2"}), gpu_capabilities=((8, 0),))
    turing = Hardware("AMD EPYC", frozenset({"avx512_bf16"}), gpu_capabilities=((7, 5),))
    assert choose_precision("auto", ampere)[0] == "bfloat16"
    assert choose_precision("auto", turing)[0] == "none"


@pytest.mark.parametrize("setting", ["none", "bfloat16"])
def test_an_explicit_setting_is_kept_whatever_the_hardware(setting: str) -> None:
    for hardware in (AVX2_ONLY, AVX512_BF16):
        assert choose_precision(setting, hardware)[0] == setting


def test_describe_records_only_the_flags_that_matter() -> None:
    described = AMX.describe()
    assert described["isa"] == ["avx512f", "amx_bf16"]
    assert described["cpu_model"] == "Intel Xeon"
    assert described["gpus"] == []
