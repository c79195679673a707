"""Hostile names in an index (ids, labels, paths) and hostile tar members: mapped to safe clip ids or
refused with the reason; nothing written outside ``data/``, nothing executed, nothing extracted."""

from __future__ import annotations

import io
import logging
import re
import tarfile
from pathlib import Path

import pytest

from avsep.dataset.layout import read_clip_sample
from avsep.shards import ShardWriter
from avsep.shards.skips import SampleError
from avsep.shards.tario import tar_samples
from avsep.sources import IndexFormatError, is_safe_clip_id, safe_clip_id
from tests.faults.harness import (
    half_written,
    manifest,
    run_flow,
    shard_digests,
    snapshot,
    tiny_mp4,
    world_row,
    write_world_index,
)
from tests.shards.tiny_shards import clip_members

PWNED = "avsep-pwned"  # a shell that ran any of these names would create this file
NAMES = {
    "dotdot": "../../escape",
    "absolute": "/tmp/avsep-absolute",
    "shell": f"$(touch {PWNED})`touch {PWNED}`;touch {PWNED}|x&&y",
    "newline": "line\nbreak",
    "10kB": "x" * 10240,
    "nul": "a\x00b",
}
# (kind, name) -> None if mapped/accepted, else words of the refusal
OUTCOMES = {
    ("id", "dotdot"): None,
    ("id", "absolute"): None,
    ("id", "shell"): None,
    ("id", "newline"): None,
    ("id", "10kB"): None,
    ("id", "nul"): ["NUL byte"],
    ("label", "dotdot"): None,
    ("label", "absolute"): None,
    ("label", "shell"): None,
    ("label", "newline"): ["contains control character"],
    ("label", "10kB"): ["10240 characters (max 200)"],
    ("label", "nul"): ["NUL byte"],
    ("path", "dotdot"): ["outside"],
    ("path", "absolute"): ["is absolute"],
}
_SAFE_PART = re.compile(r"[A-Za-z0-9_.-]+")


def _row(kind: str, name: str, index: int) -> dict:
    if kind == "id":
        return world_row(name, "good.mp4")
    if kind == "label":
        return world_row(f"label-{index}", "good.mp4", labels=f'"{name}"' if "," in name else name)
    return world_row(f"path-{index}", name)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory, prefect_api):
    """Every accepted hostile name in one index, built twice; the tree outside data/ is snapshotted."""
    top = tmp_path_factory.mktemp("hostile")
    root, folder = top / "project", top / "project" / "media"
    tiny_mp4(folder / "good.mp4")
    accepted = [(k, n) for (k, n), refusal in OUTCOMES.items() if refusal is None]
    rows = [_row(kind, NAMES[name], i) for i, (kind, name) in enumerate(accepted)]
    index = write_world_index(folder / "index.csv", rows)
    before = snapshot(top)
    first = run_flow(root, index, prefect_api)
    second = run_flow(root, index, prefect_api)
    return {
        "top": top,
        "data": root / "data",
        "rows": dict(zip(accepted, rows)),
        "before": before,
        "after": snapshot(top, skip=root / "data"),
        "first": first,
        "second": second,
    }


@pytest.mark.parametrize("kind,name", list(OUTCOMES), ids=[f"{k}-{n}" for k, n in OUTCOMES])
def test_hostile_name(kind, name, hostile_build, prefect_api, tmp_path, reliability):
    refusal = OUTCOMES[(kind, name)]
    reliability["expected"] = (
        "mapped to a safe clip id / stored as text" if refusal is None else f"index refused: {', '.join(refusal)}"
    ) + "; nothing written outside data/"
    if refusal is not None:
        folder = tmp_path / "media"
        tiny_mp4(folder / "good.mp4")
        index = folder / "index.csv"
        write_world_index(index, [_row(kind, NAMES[name], 0)])
        before = snapshot(tmp_path)
        with pytest.raises(IndexFormatError) as info:
            run_flow(tmp_path, index, prefect_api)
        reliability["observed"] = str(info.value).replace(f"{folder}/", "")[:300]
        assert str(info.value).startswith(str(index))
        for word in refusal:
            assert word in str(info.value)
        assert snapshot(tmp_path) == before
        return
    data, top = hostile_build["data"], hostile_build["top"]
    table = manifest(data)
    row = hostile_build["rows"][(kind, name)]
    if kind == "id":
        clip_id = safe_clip_id(NAMES[name])  # the world source maps an unsafe id, with a hash of the raw one
        assert is_safe_clip_id(clip_id) and clip_id in table.index
        reliability["observed"] = f"clip id {clip_id!r}, status {table.loc[clip_id, 'status']}"
    else:
        clip_id = row["clip_id"]
        assert list(table.loc[clip_id, "labels"]) == [NAMES[name]]  # kept as text, never used as a path
        reliability["observed"] = f"label stored as text in {clip_id!r}, status {table.loc[clip_id, 'status']}"
    assert table.loc[clip_id, "status"] == "ok"
    # Nothing outside data/ changed, nothing ran, every name under data/ is plain.
    assert hostile_build["after"] == dict(hostile_build["before"])
    assert not list(top.rglob(PWNED)) and not Path(PWNED).exists() and not Path("/tmp", PWNED).exists()
    assert not Path("/tmp/avsep-absolute").exists() and not (top / "escape").exists()
    for path in data.rglob("*"):
        assert all(_SAFE_PART.fullmatch(part) for part in path.relative_to(data).parts), path
    assert half_written(data) == []
    assert hostile_build["second"]["ok"] == hostile_build["first"]["ok"] == len(hostile_build["rows"])


def _hostile_tar(path: Path) -> Path:
    """A shard whose members try to climb out: ``../``, an absolute path, and a key with ``..`` inside."""
    good = clip_members("clip-000", 0)
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [
            *((f"clip-000.{m}", b) for m, b in sorted(good.items())),
            ("../evil.wav", b"x"),
            ("/tmp/avsep-evil.wav", b"x"),
            ("clip/../../evil.wav", b"x"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("member", ["dotdot-member", "absolute-member"])
def test_tar_members_that_climb_are_refused_never_extracted(member, tmp_path, caplog, reliability):
    reliability["expected"] = "member refused with a logged reason, the good sample read, nothing written to disk"
    shard = _hostile_tar(tmp_path / "hostile.tar")
    before = snapshot(tmp_path.parent)
    errors: list[BaseException] = []

    def handler(exn):
        errors.append(exn)
        logging.getLogger("avsep.shards").warning("skipped: %s", exn)
        return True

    with open(shard, "rb") as stream, caplog.at_level(logging.WARNING):
        samples = list(tar_samples(stream, str(shard), handler))
    needle = "'../evil.wav'" if member == "dotdot-member" else "'/tmp/avsep-evil.wav'"
    refused = [str(e) for e in errors if needle in str(e)]
    reliability["observed"] = f"{len(samples)} sample(s) read; refused: {refused[0].replace(str(tmp_path), '')}"
    assert [s["__key__"] for s in samples] == ["clip-000"] and set(samples[0]) >= {"wav", "json"}
    assert all(isinstance(e, SampleError) for e in errors) and len(errors) == 3 and refused
    assert needle in caplog.text
    assert snapshot(tmp_path.parent) == before and not Path("/tmp/avsep-evil.wav").exists()
    # A planted per-clip sample with a climbing member is refused before it can reach a shard.
    planted = tmp_path / "clips" / "clip-000.tar"
    planted.parent.mkdir()
    planted.write_bytes(shard.read_bytes())
    with pytest.raises(ValueError, match=r"clip-000\.tar: member '\.\./evil\.wav' is not 'clip-000\.<member>'"):
        read_clip_sample(planted)
    with ShardWriter(tmp_path / "shards", "train", max_samples=2) as writer:  # the writer still works after
        writer.write("clip-000", clip_members("clip-000", 0))
    assert shard_digests(tmp_path) and half_written(tmp_path / "shards") == []
