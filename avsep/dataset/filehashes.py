"""The sha256 of local media and annotation files, read once and then reused while the file is unchanged.

A build identifies a local file by its content (:func:`avsep.dataset.clips.input_hash`). Reading 10,000 videos
on every run only to find them unchanged is the cost this cache removes: ``data/file-hashes.parquet`` keeps
``(path, size, mtime_ns, ctime_ns) -> sha256`` and a file whose size, modification time and status-change time
are all unchanged is not read again. Any write to a file moves its ctime, and ctime cannot be set back by a
user (``touch -d`` or ``os.utime`` restoring the mtime moves it too), so new content under the old size and
mtime is still noticed; only a filesystem that does not keep ctime (some network or FUSE mounts) could hide it.
A file whose times are within :data:`RACY_S` of the moment it was read is not cached (a write in the same clock
tick would keep its times), so it is read again next run. Delete the file to forget every entry.

Beside the sha256 the same entry keeps the media's duration once a build probed it (cutting videos into clips,
:mod:`avsep.dataset.cutting`), under the same key and the same rules: an unchanged file is not probed again.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from avsep.dataset.layout import file_sha256
from avsep.io import atomic_path

# Seconds: a file changed this recently before it was hashed may change again without moving its times.
RACY_S = 2.0

_COLUMNS = {
    "path": "string",
    "size": "int64",
    "mtime_ns": "int64",
    "ctime_ns": "int64",
    "sha256": "string",  # empty: only the duration is known
    "duration_s": "float64",  # NaN: only the sha256 is known
}


class Signature(NamedTuple):
    """What says a file is unchanged: size, modification and status-change times (ns)."""

    size: int
    mtime_ns: int
    ctime_ns: int


class _Entry(NamedTuple):
    signature: Signature
    sha256: str
    duration_s: float


def signature(path: str | Path) -> Signature:
    stat = os.stat(path)
    return Signature(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def settled(before: Signature, path: str | Path, started_ns: int) -> bool:
    """True if ``path`` still has signature ``before`` and its times lie more than :data:`RACY_S` before
    ``started_ns`` (when it began to be read), so caching what was read is safe."""
    return (
        max(before.mtime_ns, before.ctime_ns) < started_ns - int(RACY_S * 1e9)
        and os.path.exists(path)
        and signature(path) == before
    )


class FileHashes:
    """``sha256(path)`` with a cache at ``store`` (``None``: no cache, every file is read).

    ``reads`` counts files read and hashed, ``reused`` the hashes taken from the cache; ``durations_reused``
    the durations taken from it. :meth:`save` writes the cache back (atomically) when it changed. Not
    thread-safe: the build plan hashes in one thread, and probing tasks hand their durations back to it.
    """

    def __init__(self, store: str | Path | None = None):
        self.store = Path(store) if store is not None else None
        self.reads = 0
        self.reused = 0
        self.durations_reused = 0
        self._entries: dict[str, _Entry] = {}
        self._changed = False
        self.damaged: str | None = None  # why the cache on disk was ignored, if it was
        if self.store is not None and self.store.exists():
            try:
                frame = pd.read_parquet(self.store)
                if "duration_s" not in frame:  # a cache written before durations were kept
                    frame["duration_s"] = math.nan
                self._entries = {
                    str(row.path): _Entry(
                        Signature(int(row.size), int(row.mtime_ns), int(row.ctime_ns)),
                        str(row.sha256),
                        float(row.duration_s),
                    )
                    for row in frame.fillna({"sha256": ""}).itertuples(index=False)
                }
            except Exception as exc:  # noqa: BLE001 (a damaged cache costs one full re-read, never a failed build)
                self._entries = {}
                self._changed = True
                self.damaged = f"{self.store}: unreadable hash cache ({exc}); every file is read again"

    def sha256(self, path: str | Path) -> str:
        key = os.path.abspath(path)
        before = signature(key)
        entry = self._entries.get(key)
        if entry is not None and entry.signature == before and entry.sha256:
            self.reused += 1
            return entry.sha256
        started_ns = time.time_ns()
        digest = file_sha256(Path(key))
        self.reads += 1
        if settled(before, key, started_ns):
            duration = entry.duration_s if entry is not None and entry.signature == before else math.nan
            self._entries[key] = _Entry(before, digest, duration)
            self._changed = True
        elif entry is not None:
            del self._entries[key]
            self._changed = True
        return digest

    def duration(self, path: str | Path) -> float | None:
        """The duration (seconds) remembered for ``path`` while it is unchanged; ``None`` if unknown."""
        key = os.path.abspath(path)
        entry = self._entries.get(key)
        if (
            entry is None
            or math.isnan(entry.duration_s)
            or not os.path.exists(key)
            or entry.signature != signature(key)
        ):
            return None
        self.durations_reused += 1
        return entry.duration_s

    def remember_duration(self, path: str | Path, before: Signature, started_ns: int, duration_s: float) -> bool:
        """Keep ``duration_s``, probed from ``path`` starting at ``started_ns`` when it had signature ``before``,
        if the file has not changed since and was not changed just before (:func:`settled`). True if kept."""
        key = os.path.abspath(path)
        if math.isnan(duration_s) or not settled(before, key, started_ns):
            return False
        entry = self._entries.get(key)
        digest = entry.sha256 if entry is not None and entry.signature == before else ""
        self._entries[key] = _Entry(before, digest, float(duration_s))
        self._changed = True
        return True

    def save(self) -> None:
        if self.store is None or not self._changed:
            return
        keys = sorted(self._entries)
        frame = pd.DataFrame(
            {
                "path": keys,
                "size": [self._entries[k].signature.size for k in keys],
                "mtime_ns": [self._entries[k].signature.mtime_ns for k in keys],
                "ctime_ns": [self._entries[k].signature.ctime_ns for k in keys],
                "sha256": [self._entries[k].sha256 for k in keys],
                "duration_s": [self._entries[k].duration_s for k in keys],
            }
        ).astype(_COLUMNS)
        with atomic_path(self.store) as tmp:
            frame.to_parquet(tmp, index=False)
        self._changed = False
