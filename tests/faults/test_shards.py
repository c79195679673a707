"""Damaged training shards: a truncated tar and a sample missing a field are skipped, counted and logged;
every good sample still trains."""

from __future__ import annotations

import logging

import pytest

from avsep.shards import ShardWriter, localization_view, make_loader
from tests.shards.tiny_shards import clip_members, small_params

KEYS = [f"clip-{i:03d}" for i in range(6)]


def _damaged_set(directory, case: str) -> list[str]:
    """Three shards of two samples, one damaged as ``case`` says; returns the keys that must still load."""
    with ShardWriter(directory, "train", max_samples=2) as writer:
        for i, key in enumerate(KEYS):
            members = clip_members(key, i)
            if case == "sample-missing-field" and i == 3:
                del members["wav"]
            writer.write(key, members)
    if case == "truncated-tar":
        shard = directory / "train-000001.tar"  # clip-002 and clip-003: cut inside clip-002
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 3])
        return [k for k in KEYS if k not in ("clip-002", "clip-003")]
    return [k for k in KEYS if k != "clip-003"]


@pytest.mark.parametrize("case", ["truncated-tar", "sample-missing-field"])
def test_damaged_shard_is_skipped_counted_logged(case, tmp_path, caplog, reliability):
    reliability["expected"] = "bad sample(s) skipped, counted in view.skipped, logged; the rest trains"
    good = _damaged_set(tmp_path, case)
    params = small_params()
    view = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0, mode="train")
    with caplog.at_level(logging.WARNING, logger="avsep.shards"):
        keys = [key for batch in make_loader(view, params) for key in batch["key"]]
    logged = [r.getMessage() for r in caplog.records if "skipped unreadable shard data" in r.getMessage()]
    reliability["observed"] = f"{len(set(keys))} of {len(KEYS)} clips trained, {view.skipped} skipped; log: " + (
        logged[0].replace(str(tmp_path), "")[:200] if logged else "none"
    )
    assert sorted(set(keys)) == good
    assert view.skipped >= 1 and len(logged) == view.skipped
    assert ("truncated" if case == "truncated-tar" else "wav") in " ".join(logged)
