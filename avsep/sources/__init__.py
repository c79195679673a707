"""Dataset sources: each turns its index into :class:`ClipRecord` rows (docs/sources.md).

    records = load_source("music", "data/music/MUSIC_solo_videos.json", params.dataset)

No source downloads, decodes or knows about shards. A malformed index raises :class:`IndexFormatError`
naming the file, the line (or JSON key) and the reason.

Besides the built-in ``SOURCES``, a name may be an entry point of the group ``avsep.sources`` of an installed
distribution, or a dotted path ``package.module:function``; either names a function ``(index, params) ->
Iterable[ClipRecord]``, exactly like a built-in module's ``load``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path

from avsep.config.dataset import DOTTED_SOURCE, SOURCE_ENTRY_POINT_GROUP, DatasetParams
from avsep.sources.errors import IndexFormatError, SourceError, UnknownSourceError
from avsep.sources.records import N_SOURCES_UNKNOWN, ClipRecord, is_safe_clip_id, safe_clip_id

__all__ = [
    "N_SOURCES_UNKNOWN",
    "SOURCES",
    "ClipRecord",
    "IndexFormatError",
    "SourceError",
    "SourceLoader",
    "UnknownSourceError",
    "check_index",
    "is_safe_clip_id",
    "load_source",
    "resolve_source",
    "safe_clip_id",
]

# name -> module with `load(index, params) -> list[ClipRecord]`; imported on demand. The schema's list of
# built-in names is avsep.config.dataset.BUILTIN_SOURCES (the config layer imports nothing above it).
SOURCES = {
    "world": "avsep.sources.world",
    "music": "avsep.sources.music",
    "audioset": "avsep.sources.audioset",
    "vggsound": "avsep.sources.vggsound",
    "soundnet_flickr": "avsep.sources.soundnet_flickr",
    "esc50": "avsep.sources.esc50",
    "urls": "avsep.sources.urls",
    "folder": "avsep.sources.folder",
}


SourceLoader = Callable[[str | Path, DatasetParams], Iterable[ClipRecord]]


def resolve_source(name: str) -> SourceLoader:
    """The loader function of source ``name``: built-in, ``avsep.sources`` entry point, or ``module:function``.

    Raises :class:`UnknownSourceError` naming the source and why it cannot be found or imported.
    """
    if name in SOURCES:
        return importlib.import_module(SOURCES[name]).load
    installed = {ep.name: ep for ep in entry_points(group=SOURCE_ENTRY_POINT_GROUP)}
    if name in installed:
        what, load = f"entry point {name!r} ({installed[name].value})", installed[name].load
    elif DOTTED_SOURCE.fullmatch(name):
        module_name, _, attribute = name.partition(":")

        def load():
            found = importlib.import_module(module_name)
            for part in attribute.split("."):
                found = getattr(found, part)
            return found

        what = f"{name!r}"
    else:
        plugins = f"; {SOURCE_ENTRY_POINT_GROUP} entry points: {', '.join(sorted(installed))}" if installed else ""
        raise UnknownSourceError(
            f"unknown source {name!r}; known: {', '.join(SOURCES)}{plugins}; or package.module:function"
        )
    try:
        loader = load()
    except ImportError as exc:
        raise UnknownSourceError(f"source {what}: cannot import it: {exc}") from exc
    except AttributeError as exc:
        raise UnknownSourceError(f"source {what}: {exc}") from exc
    if not callable(loader):
        raise UnknownSourceError(f"source {what}: {type(loader).__name__} is not a function (index, params)")
    return loader


def check_index(name: str, index: str | Path) -> None:
    """Raise :class:`IndexFormatError` when a built-in source's index is missing (a folder for ``folder``, else a
    file), with the words the source itself would use; a researcher's source decides what its index is."""
    path = Path(index)
    if name == "folder" and not path.is_dir():
        raise IndexFormatError(path, None, "the folder source needs a folder" if not path.exists() else "not a folder")
    if name in SOURCES and name != "folder" and not path.is_file():
        raise IndexFormatError(path, None, "index file not found" if not path.exists() else "not a regular file")


def load_source(name: str, index: str | Path, params: DatasetParams | None = None) -> list[ClipRecord]:
    """The clip records of source ``name`` read from ``index`` (a file, or a folder for ``folder``)."""
    loader = resolve_source(name)
    records = loader(index, params if params is not None else DatasetParams())
    if name in SOURCES:
        return list(records)
    # A researcher's loader is checked here, so a wrong return value is named now, not deep in the build.
    if isinstance(records, (str, bytes)) or not isinstance(records, Iterable):
        raise SourceError(f"source {name!r} returned {type(records).__name__}, not an iterable of ClipRecord")
    checked = list(records)
    for position, record in enumerate(checked):
        if not isinstance(record, ClipRecord):
            raise SourceError(
                f"source {name!r}: item {position} is a {type(record).__name__}, not a ClipRecord "
                "(avsep.sources.records)"
            )
    return checked
