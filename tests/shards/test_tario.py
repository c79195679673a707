"""The lean tar reader against tars written by Python's tarfile (GNU, pax, ustar) and by avsep's writer."""

import io
import re
import tarfile

import pytest

from avsep.shards import ShardWriter
from avsep.shards.skips import SampleError
from avsep.shards.tario import ShardReadError, iter_members, split_name, tar_samples

from tiny_shards import clip_members

LONG = "d" * 90 + "/" + "clip-with-a-name-longer-than-one-hundred-bytes-" + "x" * 40


def _tar(members: list[tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT, directory: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        if directory:
            info = tarfile.TarInfo("somedir")
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Recorder:
    def __init__(self):
        self.errors = []

    def __call__(self, exn):
        self.errors.append(exn)
        return True


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_members_match_tarfile_including_long_names(fmt):
    name = "clip-a.000.jpg" if fmt == tarfile.USTAR_FORMAT else LONG + ".000.jpg"
    members = [
        (name, b"jpeg bytes"),
        ("clip-a.json", b"{}"),
        ("clip-b.wav", bytes(range(256)) * 5),
        ("clip-b.empty", b""),
    ]
    data = _tar(members, fmt, directory=True)
    assert list(iter_members(io.BytesIO(data), "mem.tar")) == members


def test_skipped_members_are_not_returned_and_grouping_follows_keys():
    data = _tar(
        [
            ("clip-a.000.jpg", b"j0"),
            ("clip-a.logmel.npy", b"x" * 3000),
            ("clip-a.wav", b"w"),
            ("clip-b.000.jpg", b"j1"),
            ("noext", b"?"),
            ("clip-b.wav", b"w1"),
        ]
    )
    handler = Recorder()
    samples = list(tar_samples(io.BytesIO(data), "mem.tar", handler, skip={"logmel.npy"}.__contains__))
    assert samples == [
        {"__key__": "clip-a", "__url__": "mem.tar", "000.jpg": b"j0", "wav": b"w"},
        {"__key__": "clip-b", "__url__": "mem.tar", "000.jpg": b"j1", "wav": b"w1"},
    ]
    assert handler.errors == []
    assert split_name("dir/clip-a.src0.000.jpg") == ("dir/clip-a", "src0.000.jpg")


def test_a_member_twice_skips_that_sample_only():
    data = _tar([("clip-a.wav", b"1"), ("clip-a.wav", b"2"), ("clip-b.wav", b"3")])
    handler = Recorder()
    samples = list(tar_samples(io.BytesIO(data), "mem.tar", handler))
    assert [s["__key__"] for s in samples] == ["clip-b"]
    assert len(handler.errors) == 1 and "member 'wav' appears twice" in str(handler.errors[0])


def test_truncated_tar_yields_what_is_complete_and_reports_twice(tmp_path):
    with ShardWriter(tmp_path, "train", max_samples=10) as writer:
        for i in range(3):
            writer.write(f"clip-{i:03d}", clip_members(f"clip-{i:03d}", i))
    data = (tmp_path / "train-000000.tar").read_bytes()
    handler = Recorder()
    cut = data[: len(data) // 2]
    keys = [s["__key__"] for s in tar_samples(io.BytesIO(cut), "cut.tar", handler)]
    assert keys and len(keys) < 3
    assert isinstance(handler.errors[0], ShardReadError) and "cut.tar: truncated" in str(handler.errors[0])
    assert isinstance(handler.errors[1], SampleError) and "cut short" in str(handler.errors[1])
    full = [s["__key__"] for s in tar_samples(io.BytesIO(data), "full.tar", Recorder())]
    assert full == ["clip-000", "clip-001", "clip-002"]


def test_a_cut_inside_the_next_samples_first_member_keeps_the_sample_before_it():
    data = _tar(
        [("clip-a.000.jpg", b"j0"), ("clip-a.wav", b"w0"), ("clip-b.000.jpg", b"j" * 3000), ("clip-b.wav", b"w1")]
    )
    cut = data[: 3 * 512 + 512 + 1000]  # clip-a's two members whole, clip-b's header, 1000 of its 3000 bytes
    handler = Recorder()
    samples = list(tar_samples(io.BytesIO(cut), "cut.tar", handler))
    assert samples == [{"__key__": "clip-a", "__url__": "cut.tar", "000.jpg": b"j0", "wav": b"w0"}]
    assert len(handler.errors) == 1 and isinstance(handler.errors[0], ShardReadError)
    assert handler.errors[0].member == "clip-b.000.jpg"


def test_missing_end_marker_and_corrupt_header_are_errors():
    data = _tar([("clip-a.wav", b"1" * 600)])
    without_end = data[: 512 + 1024]  # header + padded data, no end-of-archive blocks
    with pytest.raises(ShardReadError, match="no end-of-archive block at byte 1536"):
        list(iter_members(io.BytesIO(without_end), "x.tar"))
    corrupt = bytearray(data)
    corrupt[10] ^= 0xFF  # inside the name: the checksum no longer matches
    with pytest.raises(ShardReadError, match=re.escape("x.tar: corrupt tar header at byte 0")):
        list(iter_members(io.BytesIO(bytes(corrupt)), "x.tar"))


class NoSeek(io.BytesIO):
    def seekable(self):
        return False


def test_skipping_works_on_streams_that_cannot_seek():
    data = _tar([("clip-a.logmel.npy", b"x" * 2000), ("clip-a.wav", b"w")])
    assert list(iter_members(NoSeek(data), "s.tar", lambda name: name.endswith(".npy"))) == [("clip-a.wav", b"w")]
