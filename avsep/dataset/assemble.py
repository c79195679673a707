"""Assemble shard sets from stored clip samples: ``clips`` (every ok clip) and ``C1`` … ``C4``.

A set split is rewritten only when its inputs changed (the ordered list of sample hashes and the shard
parameters); ``shards/{set}/inputs.json`` records what each split was built from. The flow plans a split here,
writes each of its shards in a task of its own (on any machine that sees the output folder) and records the
split once all are written; :func:`write_set_split` does the three in one process, with the same bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from avsep.config import Params
from avsep.dataset.layout import Layout, read_clip_sample, sample_member_bytes
from avsep.io import atomic_write_text
from avsep.shards.writer import folder_lock, read_sizes, write_one_shard, write_sizes

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


@dataclass(frozen=True)
class SplitWork:
    """What one shard set split needs: nothing (``skipped``: the same inputs already made its shards), or the
    clip ids of each of its shards, in order (shard ``i`` is ``{split}-{i:06d}.tar``)."""

    set_name: str
    split: str
    samples: int
    digest: str
    shards: list[list[str]]
    skipped: bool
    existing: int = 0  # shards already in place when skipped

    def result(self, written: int | None = None) -> dict:
        shards = self.existing if self.skipped else len(self.shards) if written is None else written
        return {
            "set": self.set_name,
            "split": self.split,
            "samples": self.samples,
            "shards": shards,
            "skipped": self.skipped,
        }


def shard_groups(layout: Layout, ids: list[str], max_samples: int, max_bytes: int | None) -> list[list[str]]:
    """The clip ids of each shard, by :class:`ShardWriter`'s rule (a new shard after ``max_samples`` samples or
    once a shard holds ``max_bytes`` of member data), so shards written one per task are the ones one writer
    writes. A stored sample's file size bounds its member bytes, so member sizes are read (tar headers only)
    only for a group whose files reach ``max_bytes``."""
    groups: list[list[str]] = []
    start = 0
    while start < len(ids):
        candidate = ids[start : start + max_samples]
        if max_bytes is not None and sum(layout.clip_sample(i).stat().st_size for i in candidate) >= max_bytes:
            held, taken = 0, 0
            while held < max_bytes and taken < len(candidate):  # ShardWriter's test, after each sample
                held += sample_member_bytes(layout.clip_sample(candidate[taken]))
                taken += 1
            candidate = candidate[:taken]
        groups.append(candidate)
        start += len(candidate)
    return groups


def plan_set_split(
    layout: Layout, set_name: str, split: str, ids: list[str], hashes: dict[str, str], params: Params
) -> SplitWork:
    """Decide whether ``shards/{set_name}/{split}-*.tar`` must be rewritten from the stored samples of ``ids``
    (sorted) and, if so, remove its old shards (a shorter rebuild must not leave any behind) and group ``ids``
    into shards."""
    directory = layout.shards / set_name
    if any(a >= b for a, b in itertools.pairwise(ids)):
        raise ValueError(f"{directory}/{split}: clip ids must be sorted and unique (shard keys must increase)")
    digest = set_digest(ids, hashes, params)
    previous = _read_inputs(directory)
    sizes = {k: v for k, v in read_sizes(directory).items() if k.startswith(f"{split}-")}
    if previous.get(split) == digest and sizes and all((directory / name).is_file() for name in sizes):
        return SplitWork(set_name, split, len(ids), digest, [], skipped=True, existing=len(sizes))
    for stale in directory.glob(f"{split}-*.tar"):
        stale.unlink()
    groups = shard_groups(layout, ids, params.shards.max_samples, params.shards.max_bytes)
    return SplitWork(set_name, split, len(ids), digest, groups, skipped=False)


def write_split_shard(layout: Layout, set_name: str, split: str, index: int, ids: list[str]) -> tuple[str, int]:
    """Shard ``index`` of a set split from the stored samples of ``ids``; returns ``(shard name, samples)``. One
    task per shard: it writes that shard only (under a temporary name, renamed when complete)."""
    samples = ((clip_id, read_clip_sample(layout.clip_sample(clip_id))) for clip_id in ids)
    return write_one_shard(layout.shards / set_name, split, index, samples)


def finish_set_split(layout: Layout, work: SplitWork, sizes: dict[str, int]) -> dict:
    """Record a rewritten split once all its shards are in place: its entries of ``sizes.json``, then its digest
    in ``inputs.json`` (last, so a split killed before this point is rewritten next time)."""
    directory = layout.shards / work.set_name
    if not work.skipped:
        write_sizes(directory, work.split, sizes, replace=True)
        with folder_lock(directory):  # other splits of this set may finish at the same time: re-read under the lock
            current = _read_inputs(directory)
            current[work.split] = work.digest
            atomic_write_text(directory / INPUTS_FILE, json.dumps(dict(sorted(current.items())), indent=1) + "\n")
    return work.result(len(sizes))


def write_set_split(
    layout: Layout, set_name: str, split: str, ids: list[str], hashes: dict[str, str], params: Params
) -> dict:
    """Write ``shards/{set_name}/{split}-*.tar`` from the stored samples of ``ids`` (sorted), unless the
    same inputs already produced them, in this process (the flow writes the shards in parallel tasks through
    :func:`plan_set_split`, :func:`write_split_shard` and :func:`finish_set_split`, the same bytes). Returns
    ``{"set", "split", "samples", "shards", "skipped"}``."""
    work = plan_set_split(layout, set_name, split, ids, hashes, params)
    sizes = dict(write_split_shard(layout, set_name, split, i, group) for i, group in enumerate(work.shards))
    return finish_set_split(layout, work, sizes)


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
