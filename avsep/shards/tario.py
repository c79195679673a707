"""Reading shard tars member by member: 512-byte headers parsed here, members grouped into samples here.

Why not ``tarfile`` + webdataset's grouping: a localization sample uses one frame of a clip's ~27 members, and
those two layers cost about 0.25 ms of Python per member (TarInfo objects, ``extractfile``, per-member dicts
and regexes through several generators). Here a member costs one header parse and one ``read``; members a
view does not use (``skip``, e.g. ``logmel.npy`` when log-mel is computed on the device) are seeked over
without being read.

Supported: POSIX ustar (with ``prefix``), GNU tar (``L`` long names, base-256 sizes) and pax ``path``
records, i.e. what Python's ``tarfile`` and GNU tar write; regular files only (directories and links are
passed over). Samples follow webdataset's convention: the key is a member's name up to the first dot of its
base name, the rest is the member (``clip-001.000.jpg`` -> key ``clip-001``, member ``000.jpg``).
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from avsep.shards.skips import SampleError

BLOCK = 512  # tar's record unit: headers and data are padded to it
_ZERO = bytes(BLOCK)
_NAME_RE = re.compile(r"^((?:.*/|)[^/.]+)\.([^/]*)$")  # webdataset's key/member split
_FILE_TYPES = (b"0", b"\0", b"7")  # regular file (old and new flag), contiguous file
_USTAR_POSIX = b"ustar\x0000"  # only POSIX ustar uses the prefix field; GNU keeps other data there


class ShardReadError(ValueError):
    """A shard cannot be read further (truncated, or a corrupt header); the message names the URL and offset.
    ``member``: the path of the member whose data was cut off, when its header was read whole (else None)."""

    def __init__(self, message: str, member: str | None = None):
        super().__init__(message)
        self.member = member


def _number(field: bytes) -> int:
    """A numeric header field: NUL/space-terminated octal, or GNU base-256 (first byte 0x80) for big values."""
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _checksum_ok(block: bytes) -> bool:
    """The header checksum: the sum of its bytes with the checksum field read as spaces (unsigned, or the
    signed sum some old tars wrote)."""
    stored = _number(block[148:156])
    rest = block[:148] + block[156:]
    return stored == sum(rest) + 256 or stored == sum(struct.unpack("504b", rest)) + 256


def _pax_path(data: bytes) -> str | None:
    """The ``path`` record of a pax extended header (``"%d path=%s\\n"`` records), or None."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        if key == b"path":
            return value.decode("utf-8")
        pos += length
    return None


def _read_exact(stream: BinaryIO, size: int, url: str, offset: int, member: str | None = None) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise ShardReadError(
            f"{url}: truncated: member data at byte {offset} needs {size} bytes, {len(data)} left", member
        )
    return data


def iter_members(stream: BinaryIO, url: str, skip: Callable[[str], bool] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(member path, bytes)`` for each regular file of a tar read front to back from ``stream``.

    Members for which ``skip(path)`` is true are passed over (seeked, or read and dropped when the stream
    cannot seek). Raises :class:`ShardReadError` when the tar is truncated (also: no end-of-archive block) or
    a header's checksum is wrong; what came before has been yielded.
    """
    seekable = stream.seekable()
    offset, long_name = 0, None
    while True:
        block = stream.read(BLOCK)
        if len(block) < BLOCK:
            raise ShardReadError(
                f"{url}: truncated: {'no end-of-archive block' if not block else 'partial header'} at byte {offset}"
            )
        if block == _ZERO:
            return
        if not _checksum_ok(block):
            raise ShardReadError(f"{url}: corrupt tar header at byte {offset} (checksum mismatch)")
        size, kind = _number(block[124:136]), block[156:157]
        padding = -size % BLOCK
        data_offset, offset = offset + BLOCK, offset + BLOCK + size + padding
        if kind in (b"L", b"x"):
            data = _read_exact(stream, size + padding, url, data_offset)[:size]
            long_name = data.split(b"\0", 1)[0].decode("utf-8") if kind == b"L" else _pax_path(data)
            continue
        name, long_name = long_name, None
        if name is None:
            name = block[:100].split(b"\0", 1)[0].decode("utf-8")
            if block[257:265] == _USTAR_POSIX and block[345] != 0:
                name = block[345:500].split(b"\0", 1)[0].decode("utf-8") + "/" + name
        if kind not in _FILE_TYPES or (skip is not None and skip(name)):
            if seekable:
                stream.seek(size + padding, io.SEEK_CUR)  # past the end is caught by the next header read
            else:
                _read_exact(stream, size + padding, url, data_offset, name)
            continue
        data = _read_exact(stream, size, url, data_offset, name)
        if padding:
            stream.read(padding)
        yield name, data


def unsafe_member(path: str) -> bool:
    """True for a member path that is absolute or climbs with ``..`` (a tar-slip attempt)."""
    return path.startswith("/") or ".." in path.replace("\\", "/").split("/")


def split_name(path: str) -> tuple[str, str] | tuple[None, None]:
    """``"dir/clip-001.000.jpg"`` -> ``("dir/clip-001", "000.jpg")``; ``(None, None)`` for a name without a dot."""
    match = _NAME_RE.match(path)
    return (match.group(1), match.group(2)) if match else (None, None)


def tar_samples(
    stream: BinaryIO, url: str, handler: Callable[[BaseException], bool], skip: Callable[[str], bool] | None = None
) -> Iterator[dict]:
    """Samples ``{"__key__", "__url__", member: bytes}`` of one tar, in stored order (consecutive members
    with the same key). ``skip(member)`` (e.g. ``"logmel.npy"``) leaves members unread.

    Data errors go to ``handler`` (log, count, skip: it returns True) and never stop the stream: a sample
    with a member twice is skipped; a truncated or corrupt tar ends its shard, and the sample it cut short
    is reported as a second error.
    """
    wanted = None if skip is None else (lambda path: skip(split_name(path)[1] or ""))
    current: dict | None = None
    problem: SampleError | None = None
    try:
        for path, data in iter_members(stream, url, wanted):
            if unsafe_member(path):
                # Never a key: keys become file names downstream (figures, WAVs); nothing here writes to disk.
                if not handler(SampleError(f"{url}: member {path[:120]!r}: absolute or '..' path refused")):
                    raise SampleError(f"{url}: member {path[:120]!r}: absolute or '..' path refused")
                continue
            key, member = split_name(path)
            if key is None:
                continue  # webdataset also ignores members without a suffix
            if current is None or key != current["__key__"]:
                if current is not None:
                    if problem is None:
                        yield current
                    elif not handler(problem):
                        raise problem
                current, problem = {"__key__": key, "__url__": url}, None
            if member in current:
                problem = SampleError(f"{url}: sample {key!r}: member {member!r} appears twice")
            current[member] = data
    except ShardReadError as exn:
        if not handler(exn):
            raise
        if (
            current is not None
            and exn.member is not None
            and split_name(exn.member)[0] not in (None, current["__key__"])
        ):
            # The cut is inside the next sample's first member: every member of ``current`` came before it.
            if problem is None:
                yield current
            elif not handler(problem):
                # The duplicate member was found before the shard broke and the handler took the read error.
                raise problem from None
            current = None
        if current is not None and not handler(
            SampleError(f"{url}: sample {current['__key__']!r}: cut short by the damaged shard")
        ):
            raise
        return
    if current is not None:
        if problem is None:
            yield current
        elif not handler(problem):
            raise problem
