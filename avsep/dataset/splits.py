"""Which split each video belongs to, decided per video so the clips of one video never straddle splits.

A source that knows the split says so in the record (the world's index, MUSIC's DSOL rule, ESC-50's folds, a
``urls`` index's ``split`` column, a ``folder`` source's ``train``/``val``/``test`` level). Every other video gets
:func:`hash_split` of its :func:`split_key` against ``build.split_ratios``: a function of that one video's key,
so a video's split never depends on which other videos the index holds, and adding videos moves none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlsplit

from avsep.config.build import SPLITS
from avsep.sources.records import ClipRecord

_HASH_BITS = 64  # of sha256, as the fraction in [0, 1): ratio steps far below any share anyone asks for


def hash_fraction(key: str) -> float:
    """``key``'s sha256 as a number in ``[0, 1)``: the same on every machine and Python version."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[: _HASH_BITS // 8], "big") / 2**_HASH_BITS


def hash_split(key: str, ratios: Mapping[str, float]) -> str:
    """The split of the video ``key``: ``train``, ``val``, ``test`` take consecutive shares of ``[0, 1)`` in
    that order (a split missing from ``ratios`` has share 0)."""
    fraction, upper = hash_fraction(key), 0.0
    named = [split for split in SPLITS if ratios.get(split, 0.0) > 0]
    for split in named:
        upper += ratios[split]
        if fraction < upper:
            return split
    return named[-1]  # shares summing to 1 up to rounding: the last one takes the rest


def split_key(record: ClipRecord) -> str:
    """What identifies ``record``'s video for its split: the YouTube id where the source knows one (AudioSet's
    segments of one video share it), the URL of remote media (several spans of one URL), else the video id
    (the record's own id, derived from the index and not from where the files lie)."""
    youtube_id = record.meta.get("youtube_id")
    if isinstance(youtube_id, str) and youtube_id:
        return f"youtube:{youtube_id}"
    if urlsplit(record.uri).scheme.lower() in ("http", "https"):
        return record.uri
    return record.video_id or record.clip_id


def with_splits(records: list[ClipRecord], ratios: Mapping[str, float]) -> list[ClipRecord]:
    """``records`` with every empty ``split`` filled by :func:`hash_split`; a split the source gave is kept."""
    return [r if r.split else replace(r, split=hash_split(split_key(r), ratios)) for r in records]
