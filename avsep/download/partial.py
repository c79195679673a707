"""A download's partial file, kept between attempts and runs when the server can continue it.

``DEST/.<clip_id>.download.partial`` holds the bytes so far (hidden and ending in ``.partial``, so never
taken for a finished download); ``DEST/.<clip_id>.download.resume.json`` says which URL they came from, the
file's total length and its validator (a strong ETag or Last-Modified), so a later request can ask for the
rest with ``Range`` + ``If-Range`` and check that the answer continues these bytes. Without the sidecar a
partial file is never continued.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from avsep.download.paths import destination
from avsep.io import atomic_write_text


@dataclass(frozen=True)
class ResumeInfo:
    url: str
    total: int
    validator: str | None  # for If-Range; None: only the total length is checked


class Partial:
    def __init__(self, dest_dir: str | Path, clip_id: str):
        base = destination(dest_dir, clip_id, ".bin").parent  # validates the id, resolves the folder
        self.path = base / f".{clip_id}.download.partial"
        self.sidecar = base / f".{clip_id}.download.resume.json"

    def resume_point(self, url: str) -> tuple[int, ResumeInfo] | None:
        """(bytes already there, what they belong to) when the partial file of ``url`` can be continued."""
        try:
            info = ResumeInfo(**json.loads(self.sidecar.read_text(encoding="utf-8")))
            size = self.path.stat().st_size
        except (OSError, ValueError, TypeError):  # absent, unreadable, or from another avsep: start again
            return None
        if info.url != url or not 0 < size < info.total:
            return None
        return size, info

    def remember(self, info: ResumeInfo) -> None:
        atomic_write_text(self.sidecar, json.dumps(asdict(info), sort_keys=True) + "\n")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def commit(self, final: Path) -> Path:
        """Give the complete file its final name (the caller fsynced it)."""
        os.replace(self.path, final)
        self.sidecar.unlink(missing_ok=True)
        return final
