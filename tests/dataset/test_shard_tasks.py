"""Shards written one task each (plan, one shard per call, record) are ShardWriter's shards, byte for byte,
also where ``shards.max_bytes`` closes a shard before ``max_samples``."""

from __future__ import annotations

import hashlib

import pytest

from avsep.config import derive, load_params
from avsep.dataset.assemble import finish_set_split, plan_set_split, shard_groups, write_split_shard
from avsep.dataset.layout import Layout, read_clip_sample, write_clip_sample
from avsep.shards.writer import write_shards


def _store(layout: Layout, sizes: list[int]) -> list[str]:
    ids = [f"clip-{i:03d}" for i in range(len(sizes))]
    for clip_id, size in zip(ids, sizes, strict=True):
        write_clip_sample(layout.clip_sample(clip_id), clip_id, {"wav": bytes([len(clip_id)]) * size, "json": b"{}"})
    return ids


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.name != ".lock"}


@pytest.mark.parametrize("max_bytes", [None, 1 << 20, 2500, 700])
def test_one_task_per_shard_writes_the_writer_s_bytes(tmp_path, max_bytes):
    layout = Layout(tmp_path / "data")
    ids = _store(layout, [300, 1200, 100, 2000, 50, 60, 70, 900, 10])
    params = derive(load_params(None), {"shards.max_samples": 3, "shards.max_bytes": max_bytes})
    hashes = dict.fromkeys(ids, "-")

    work = plan_set_split(layout, "clips", "train", ids, hashes, params)
    sizes = dict(
        write_split_shard(layout, "clips", "train", i, group) for i, group in reversed(list(enumerate(work.shards)))
    )
    result = finish_set_split(layout, work, sizes)

    reference = tmp_path / "reference"
    samples = ((i, read_clip_sample(layout.clip_sample(i))) for i in ids)
    expected = write_shards(reference, "train", samples, max_samples=3, max_bytes=max_bytes)
    assert sizes == expected and result["shards"] == len(expected) and not result["skipped"]
    assert {k: v for k, v in _digests(layout.shards / "clips").items() if k != "inputs.json"} == _digests(reference)
    assert plan_set_split(layout, "clips", "train", ids, hashes, params).skipped


def test_shard_groups_follow_the_byte_limit_across_the_sample_limit(tmp_path):
    layout = Layout(tmp_path)
    ids = _store(layout, [1000, 10, 10, 10, 10])
    # The first sample fills a shard by bytes; the next shard then counts max_samples from its own start.
    assert shard_groups(layout, ids, 3, 1000) == [ids[:1], ids[1:4], ids[4:]]


def test_unsorted_ids_are_refused_naming_the_split(tmp_path):
    layout = Layout(tmp_path)
    ids = _store(layout, [10, 10])
    with pytest.raises(ValueError, match="clips/train: clip ids must be sorted"):
        plan_set_split(layout, "clips", "train", ids[::-1], dict.fromkeys(ids, "-"), load_params(None))
