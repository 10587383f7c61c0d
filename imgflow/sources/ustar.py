"""The members of a plain tar archive held in memory, read without `tarfile`'s parsing.

`tarfile` parses every 512-byte header field by field in Python, a large share of the download
stage for an archive of many small images. The archives people bring (`tar czf`, `git archive`,
Python's `tarfile`) mostly hold nothing but plain ustar headers of regular files and folders,
which `plain_members` reads with field slicing per header, and one NumPy sum for every header
checksum at once (docs/decisions/tar-in-memory.md).

It is a fast path, never a judge. Anything else it meets (links, devices, long names in pax or
GNU headers, sparse files, base-256 numbers, a checksum that does not add up, a member running
past the end) makes it return None, and the caller reads the archive with `tarfile`, which
handles or reports all of it. Where it answers, it answers what `tarfile` would: same names,
data offsets and sizes (tests/imgflow/sources/test_ustar.py compares the two).
"""

from __future__ import annotations

import tarfile

import numpy as np

BLOCK = 512
_MAGIC = slice(257, 262)  # "ustar", POSIX ("ustar\0" "00") and old GNU ("ustar  \0") alike
_CHECKSUM = slice(148, 156)
# Header type -> member type: files ("0", or NUL from before POSIX) and folders, nothing else.
_PLAIN_TYPES = {
    tarfile.REGTYPE: tarfile.REGTYPE,
    tarfile.AREGTYPE: tarfile.REGTYPE,
    tarfile.DIRTYPE: tarfile.DIRTYPE,
}
# A pax global header holding only these keys changes no member (git archive writes a comment).
_HARMLESS_GLOBAL_KEYS = {b"comment"}


def plain_members(buffer: bytes) -> list[tarfile.TarInfo] | None:
    """Every member of the uncompressed tar `buffer`, in order; None unless all are plain."""
    members: list[tarfile.TarInfo] = []
    header_offsets: list[int] = []
    offset = 0
    while offset + BLOCK <= len(buffer):
        header = buffer[offset : offset + BLOCK]
        if not any(header):
            break  # the end-of-archive zero block
        if header[_MAGIC] != b"ustar":
            return None
        size = _octal(header[124:136])
        if size is None or offset + BLOCK + size > len(buffer):
            return None
        data_end = offset + BLOCK + size
        kind = header[156:157]
        if kind == tarfile.XGLTYPE:
            if not _harmless_global(buffer[offset + BLOCK : data_end]):
                return None
        else:
            member = _member(header, kind, offset, size)
            if member is None:
                return None
            members.append(member)
        header_offsets.append(offset)
        offset = data_end + -size % BLOCK
    return members if _checksums_match(buffer, header_offsets) else None


def _member(header: bytes, kind: bytes, offset: int, size: int) -> tarfile.TarInfo | None:
    plain_type = _PLAIN_TYPES.get(kind)
    if plain_type is None or (plain_type == tarfile.DIRTYPE and size):
        return None  # not plain, or a folder with data, which tarfile would not skip
    name = _text(header[0:100])
    prefix = _text(header[345:500])
    if prefix:  # ustar splits long paths between the prefix and name fields
        name = f"{prefix}/{name}"
    if name.endswith("/"):
        if plain_type != tarfile.DIRTYPE:
            return None  # tarfile reads a regular file named "x/" as a folder: leave it to it
        name = name.rstrip("/")
    member = tarfile.TarInfo(name)
    member.type = plain_type
    member.size = size
    member.offset = offset
    member.offset_data = offset + BLOCK
    return member


def _octal(field: bytes) -> int | None:
    """An octal number field; None for tarfile's base-256 form or anything not octal."""
    digits = field.rstrip(b"\x00 ").lstrip(b" ")
    if field[:1] in (b"\x80", b"\xff") or not digits.isdigit():
        return None if digits else 0
    try:
        return int(digits, 8)
    except ValueError:  # an 8 or a 9
        return None


def _text(field: bytes) -> str:
    # tarfile's default: UTF-8, undecodable bytes kept as surrogates.
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _harmless_global(records: bytes) -> bool:
    """True for pax global records ("<length> <key>=<value>\\n" each) that set no member field."""
    keys = set()
    for record in records.rstrip(b"\x00").split(b"\n"):
        if record:
            _, _, pair = record.partition(b" ")
            keys.add(pair.partition(b"=")[0])
    return keys <= _HARMLESS_GLOBAL_KEYS


def _checksums_match(buffer: bytes, header_offsets: list[int]) -> bool:
    """Each header's stored checksum against the sum of its bytes, the checksum field counted
    as spaces (POSIX; tarfile also accepts a signed-byte sum, which this leaves to tarfile)."""
    if not header_offsets:
        return True
    blocks = np.frombuffer(buffer, np.uint8, count=len(buffer) // BLOCK * BLOCK)
    headers = blocks.reshape(-1, BLOCK)[np.asarray(header_offsets) // BLOCK]
    fields = headers[:, _CHECKSUM]
    sums = headers.sum(axis=1, dtype=np.int64) - fields.sum(axis=1, dtype=np.int64) + 8 * 32
    stored = [_octal(bytes(field)) for field in fields]
    return None not in stored and np.array_equal(sums, np.asarray(stored, dtype=np.int64))
