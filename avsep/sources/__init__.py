"""Dataset sources: each turns its index into :class:`ClipRecord` rows (docs/sources.md).

    records = load_source("music", "data/music/MUSIC_solo_videos.json", params.dataset)

No source downloads, decodes or knows about shards. A malformed index raises :class:`IndexFormatError`
naming the file, the line (or JSON key) and the reason.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError, UnknownSourceError
from avsep.sources.records import N_SOURCES_UNKNOWN, ClipRecord, is_safe_clip_id, safe_clip_id

__all__ = [
    "N_SOURCES_UNKNOWN",
    "SOURCES",
    "ClipRecord",
    "IndexFormatError",
    "UnknownSourceError",
    "is_safe_clip_id",
    "load_source",
    "safe_clip_id",
]

# name -> module with `load(index, params) -> list[ClipRecord]`; imported on demand.
SOURCES = {
    "world": "avsep.sources.world",
    "music": "avsep.sources.music",
    "audioset": "avsep.sources.audioset",
    "soundnet_flickr": "avsep.sources.soundnet_flickr",
    "esc50": "avsep.sources.esc50",
    "urls": "avsep.sources.urls",
    "folder": "avsep.sources.folder",
}


def load_source(name: str, index: str | Path, params: DatasetParams | None = None) -> list[ClipRecord]:
    """The clip records of source ``name`` read from ``index`` (a file, or a folder for ``folder``)."""
    if name not in SOURCES:
        raise UnknownSourceError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
    return importlib.import_module(SOURCES[name]).load(index, params if params is not None else DatasetParams())
