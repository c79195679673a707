"""The sha256 of local media and annotation files, read once and then reused while the file is unchanged.

A build identifies a local file by its content (:func:`avsep.dataset.clips.input_hash`). Reading 10,000 videos
on every run only to find them unchanged is the cost this cache removes: ``data/file-hashes.parquet`` keeps
``(path, size, mtime_ns, ctime_ns) -> sha256`` and a file whose size, modification time and status-change time
are all unchanged is not read again. Any write to a file moves its ctime, and ctime cannot be set back by a
user (``touch -d`` or ``os.utime`` restoring the mtime moves it too), so new content under the old size and
mtime is still noticed; only a filesystem that does not keep ctime (some network or FUSE mounts) could hide it.
A file whose times are within :data:`RACY_S` of the moment it was read is not cached (a write in the same clock
tick would keep its times), so it is read again next run. Delete the file to forget every entry.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from avsep.dataset.layout import file_sha256
from avsep.io import atomic_path

# Seconds: a file changed this recently before it was hashed may change again without moving its times.
RACY_S = 2.0

_COLUMNS = {"path": "string", "size": "int64", "mtime_ns": "int64", "ctime_ns": "int64", "sha256": "string"}


class FileHashes:
    """``sha256(path)`` with a cache at ``store`` (``None``: no cache, every file is read).

    ``reads`` counts files read and hashed, ``reused`` the hashes taken from the cache; :meth:`save` writes the
    cache back (atomically) when it changed. Not thread-safe: the build plan hashes in one thread.
    """

    def __init__(self, store: str | Path | None = None):
        self.store = Path(store) if store is not None else None
        self.reads = 0
        self.reused = 0
        self._entries: dict[str, tuple[int, int, int, str]] = {}
        self._changed = False
        self.damaged: str | None = None  # why the cache on disk was ignored, if it was
        if self.store is not None and self.store.exists():
            try:
                frame = pd.read_parquet(self.store)
                self._entries = {
                    str(row.path): (int(row.size), int(row.mtime_ns), int(row.ctime_ns), str(row.sha256))
                    for row in frame.itertuples(index=False)
                }
            except Exception as exc:  # noqa: BLE001 (a damaged cache costs one full re-read, never a failed build)
                self._entries = {}
                self._changed = True
                self.damaged = f"{self.store}: unreadable hash cache ({exc}); every file is read again"

    def sha256(self, path: str | Path) -> str:
        key = os.path.abspath(path)
        stat = os.stat(key)
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        entry = self._entries.get(key)
        if entry is not None and entry[:3] == signature:
            self.reused += 1
            return entry[3]
        started_ns = time.time_ns()
        digest = file_sha256(Path(key))
        self.reads += 1
        after = os.stat(key)
        settled = max(after.st_mtime_ns, after.st_ctime_ns) < started_ns - int(RACY_S * 1e9)
        if settled and (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == signature:
            self._entries[key] = (*signature, digest)
            self._changed = True
        elif entry is not None:
            del self._entries[key]
            self._changed = True
        return digest

    def save(self) -> None:
        if self.store is None or not self._changed:
            return
        keys = sorted(self._entries)
        frame = pd.DataFrame(
            {
                "path": keys,
                "size": [self._entries[k][0] for k in keys],
                "mtime_ns": [self._entries[k][1] for k in keys],
                "ctime_ns": [self._entries[k][2] for k in keys],
                "sha256": [self._entries[k][3] for k in keys],
            }
        ).astype(_COLUMNS)
        with atomic_path(self.store) as tmp:
            frame.to_parquet(tmp, index=False)
        self._changed = False
