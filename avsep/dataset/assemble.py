"""Assemble shard sets from stored clip samples: ``clips`` (every ok clip) and ``C1`` … ``C4``.

A set split is rewritten only when its inputs changed (the ordered list of sample hashes and the shard
parameters); ``shards/{set}/inputs.json`` records what each split was built from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from avsep.config import Params
from avsep.dataset.layout import Layout, read_clip_sample
from avsep.io import atomic_write_text
from avsep.shards.writer import ShardWriter, folder_lock, read_sizes, write_sizes

CURRICULA = ("C1", "C2", "C3", "C4")
INPUTS_FILE = "inputs.json"


def shard_plan(manifest: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """``(set, split) -> sorted clip ids`` for every shard set split that has clips."""
    ok = manifest[manifest["status"] == "ok"].sort_values("clip_id")
    plan: dict[tuple[str, str], list[str]] = {}
    for split, group in ok.groupby("split", sort=True):
        plan[("clips", str(split))] = group["clip_id"].astype(str).tolist()
        for curriculum in CURRICULA:
            ids = group.loc[group["curriculum"] == curriculum, "clip_id"].astype(str).tolist()
            if ids:
                plan[(curriculum, str(split))] = ids
    return plan


def set_digest(ids: list[str], hashes: dict[str, str], params: Params) -> str:
    """sha256 of what a clip shard set split is made from: its samples' hashes in order and the shard limits."""
    blob = json.dumps(
        {
            "samples": [[i, hashes[i]] for i in ids],
            "max_samples": params.shards.max_samples,
            "max_bytes": params.shards.max_bytes,
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()


def _read_inputs(directory: Path) -> dict[str, str]:
    path = directory / INPUTS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_set_split(
    layout: Layout, set_name: str, split: str, ids: list[str], hashes: dict[str, str], params: Params
) -> dict:
    """Write ``shards/{set_name}/{split}-*.tar`` from the stored samples of ``ids`` (sorted), unless the
    same inputs already produced them. Returns ``{"set", "split", "samples", "shards", "skipped"}``."""
    directory = layout.shards / set_name
    digest = set_digest(ids, hashes, params)
    previous = _read_inputs(directory)
    sizes = {k: v for k, v in read_sizes(directory).items() if k.startswith(f"{split}-")}
    if previous.get(split) == digest and sizes and all((directory / name).is_file() for name in sizes):
        return {"set": set_name, "split": split, "samples": len(ids), "shards": len(sizes), "skipped": True}
    for stale in directory.glob(f"{split}-*.tar"):  # a shorter rebuild must not leave old shards behind
        stale.unlink()
    with ShardWriter(directory, split, params.shards.max_samples, params.shards.max_bytes) as writer:
        for clip_id in ids:
            writer.write(clip_id, read_clip_sample(layout.clip_sample(clip_id)))
    with folder_lock(directory):  # other splits of this set finish in parallel tasks: re-read under the lock
        current = _read_inputs(directory)
        current[split] = digest
        atomic_write_text(directory / INPUTS_FILE, json.dumps(dict(sorted(current.items())), indent=1) + "\n")
    return {"set": set_name, "split": split, "samples": len(ids), "shards": len(writer.sizes), "skipped": False}


def prune_sets(layout: Layout, plan: dict[tuple[str, str], list[str]]) -> None:
    """Remove shard set splits that no longer have clips (e.g. a curriculum emptied by a new counter)."""
    wanted = {(s, sp) for s, sp in plan}
    for set_name in CURRICULA + ("clips",):
        directory = layout.shards / set_name
        if not directory.is_dir():
            continue
        for split in sorted({name.split("-")[0] for name in read_sizes(directory)}):
            if (set_name, split) not in wanted:
                for stale in directory.glob(f"{split}-*.tar"):
                    stale.unlink()
                write_sizes(directory, split, {}, replace=True)
