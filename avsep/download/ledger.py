"""A small JSON record of permanent download failures, so rotten URIs are not retried every run.

``DEST/failures.json`` maps URI → ``{"reason", "clip_id", "recorded_at"}``, plus ``"class"`` and ``"advice"``
for a recognised failure (:mod:`avsep.download.youtube_errors`). Writers take an exclusive
``flock`` on a sibling lock file and merge, so parallel workers do not lose each other's entries; the file
is replaced atomically. Delete an entry (``forget``) or the file to try again.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from avsep.io import atomic_write_text


class LedgerError(ValueError):
    """The ledger file exists but cannot be read as a ledger."""


class FailureLedger:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def reason(self, uri: str) -> str | None:
        """Why ``uri`` failed permanently earlier, or None."""
        entry = self._read().get(uri)
        return entry["reason"] if entry else None

    def entry(self, uri: str) -> dict | None:
        """The whole record of ``uri`` (reason, clip_id, recorded_at, class and advice if known), or None."""
        return self._read().get(uri)

    def entries(self) -> dict[str, dict]:
        return self._read()

    def record(self, uri: str, reason: str, clip_id: str = "", category: str = "", advice: str = "") -> None:
        with self._locked():
            data = self._read()
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            data[uri] = {"reason": reason, "clip_id": clip_id, "recorded_at": when}
            if category:
                data[uri].update({"class": category, "advice": advice})
            self._write(data)

    def forget(self, uri: str) -> bool:
        with self._locked():
            data = self._read()
            found = data.pop(uri, None) is not None
            if found:
                self._write(data)
            return found

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LedgerError(f"{self.path}: not a failure ledger ({exc}); delete it to start afresh") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) and "reason" in v for v in data.values()):
            raise LedgerError(f"{self.path}: expected {{uri: {{reason, ...}}}}; delete it to start afresh")
        return data

    def _write(self, data: dict) -> None:
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
