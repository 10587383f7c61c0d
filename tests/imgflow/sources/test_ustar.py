import io
import tarfile

import pytest

from imgflow.sources.ustar import BLOCK, plain_members

FILES = {"cifar/train/cat/0001.jpg": b"x" * 700, "cifar/test/dog/0002.jpg": b"y" * 512}


def make_tar(
    files: dict[str, bytes],
    tar_format: int = tarfile.USTAR_FORMAT,
    folders: tuple[str, ...] = (),
    global_headers: dict[str, str] | None = None,
    link: str | None = None,
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tar_format, pax_headers=global_headers or {}
    ) as tar:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "../../etc/passwd"
            tar.addfile(info)
    return out.getvalue()


def as_tarfile_reads_it(buffer: bytes) -> list[tuple[str, bytes, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(buffer)) as tar:
        return [(m.name, m.type, m.size, m.offset_data) for m in tar]


def fields(members: list[tarfile.TarInfo] | None) -> list[tuple[str, bytes, int, int]]:
    assert members is not None
    return [(m.name, m.type, m.size, m.offset_data) for m in members]


@pytest.mark.parametrize("tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT])
def test_plain_archive_reads_as_tarfile_reads_it(tar_format: int) -> None:
    buffer = make_tar(FILES, tar_format, folders=("cifar", "cifar/train"))
    assert fields(plain_members(buffer)) == as_tarfile_reads_it(buffer)


def test_member_bytes_sit_at_the_data_offset() -> None:
    buffer = make_tar(FILES)
    members = plain_members(buffer)
    assert members is not None
    assert {m.name: buffer[m.offset_data : m.offset_data + m.size] for m in members} == FILES


def test_long_path_split_into_the_ustar_prefix_is_joined() -> None:
    name = "/".join(["folder" * 10] * 2) + "/image.png"  # 126 characters: prefix + name
    buffer = make_tar({name: b"png"})
    assert fields(plain_members(buffer)) == as_tarfile_reads_it(buffer)
    assert fields(plain_members(buffer))[0][0] == name


def test_global_comment_header_of_git_archive_is_skipped() -> None:
    buffer = make_tar(FILES, tarfile.PAX_FORMAT, global_headers={"comment": "d7d0561806"})
    assert fields(plain_members(buffer)) == as_tarfile_reads_it(buffer)


def test_empty_archive_has_no_members() -> None:
    assert plain_members(make_tar({})) == []


@pytest.mark.parametrize(
    "buffer",
    [
        pytest.param(make_tar(FILES, link="cifar/evil"), id="symlink"),
        pytest.param(make_tar({"a" * 120 + ".jpg": b"x"}, tarfile.GNU_FORMAT), id="gnu-longname"),
        pytest.param(make_tar({"caf\u00e9/1.jpg": b"x"}, tarfile.PAX_FORMAT), id="pax-header"),
        pytest.param(
            make_tar(FILES, tarfile.PAX_FORMAT, global_headers={"path": "x"}), id="pax-global-path"
        ),
        pytest.param(b"not a tar archive".ljust(BLOCK, b"\x01"), id="not-ustar"),
    ],
)
def test_anything_but_plain_members_is_left_to_tarfile(buffer: bytes) -> None:
    assert plain_members(buffer) is None


def test_bad_checksum_is_left_to_tarfile() -> None:
    buffer = bytearray(make_tar(FILES))
    buffer[0] ^= 0x01  # the first name changes; its stored checksum no longer adds up
    assert plain_members(bytes(buffer)) is None


def test_member_running_past_the_end_is_left_to_tarfile() -> None:
    buffer = make_tar(FILES)
    assert plain_members(buffer[: BLOCK + 100]) is None  # the first file's data is cut short


def test_base256_size_is_left_to_tarfile() -> None:
    buffer = bytearray(make_tar(FILES))
    buffer[124:136] = b"\x80" + bytes(10) + b"\x02"  # tarfile's binary form of a size
    buffer[148:156] = b" " * 8
    buffer[148:156] = b"%06o\x00 " % sum(buffer[:BLOCK])  # a valid checksum again
    assert plain_members(bytes(buffer)) is None
