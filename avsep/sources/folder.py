"""Local media files under a folder; a file's label is the name of its top-level sub-folder.

``ROOT/cello/a.mp4`` → labels ``["cello"]``; files directly in ``ROOT`` are unlabelled. A top-level folder named
``train``, ``val`` or ``test`` is a split level instead: ``ROOT/val/cello/a.mp4`` is split ``val``, label
``cello`` (``ROOT/val/a.mp4``: split ``val``, unlabelled); elsewhere the build decides the split
(:mod:`avsep.dataset.splits`). Only suffixes in
``dataset.folder_extensions`` count; hidden files and ``*.partial`` are skipped; symbolic links are not
followed into folders, and a linked file whose target lies outside ``ROOT`` is refused. Clip ids are the
relative path (``cello-a``; dots, spaces and non-ASCII become ``_``) plus a hash of it, so they are stable,
valid for every stage and never collide. A name with a control character becomes an ``invalid`` row.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import checked_labels, finished
from avsep.sources.index_text import check_name
from avsep.sources.records import ClipRecord, invalid_record, safe_clip_id

SPLIT_FOLDERS = ("train", "val", "test")  # a top-level folder of these names is a split, not a class
log = logging.getLogger(__name__)


def media_files(root: Path, extensions: list[str]) -> list[Path]:
    """Media files under ``root`` (relative paths, sorted); never leaves ``root``."""
    suffixes = {e.lower() for e in extensions}
    base = root.resolve()
    found = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = Path(folder, name)
            if name.startswith(".") or name.endswith(".partial") or full.suffix.lower() not in suffixes:
                continue
            if not full.resolve().is_relative_to(base):
                log.warning("%s: links outside %s; skipped", full, root)
                continue
            found.append(full.relative_to(base))
    return found


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    root = Path(index)
    if not root.is_dir():
        raise IndexFormatError(root, None, "the folder source needs a folder" if not root.exists() else "not a folder")
    records, wheres = [], []
    for relative in media_files(root, params.folder_extensions):
        where = repr(str(relative))[1:-1][:120]
        try:
            for part in relative.parts:
                check_name(part, root, where, "path component")
        except IndexFormatError as exc:
            # One unusable name (a control character) is its own manifest row; the other files are built.
            records.append(invalid_record("folder", "-".join(relative.with_suffix("").parts), where, str(exc)))
            wheres.append(where)
            continue
        split, below = _split_level(relative)
        raw_labels = [below.parts[0]] if len(below.parts) > 1 else []
        labels = checked_labels(raw_labels, root, where, params)
        if raw_labels and not labels:
            continue  # unknown_label: drop
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(
                    "-".join(relative.with_suffix("").parts), params.clip_id_max_len, unique_key=relative.as_posix()
                ),
                source="folder",
                uri=(root.resolve() / relative).as_uri(),
                labels=labels,
                split=split,
            )
        )
        wheres.append(where)
    return finished(records, wheres, root, params)


def _split_level(relative: Path) -> tuple[str, Path]:
    """``(split, the path below the split folder)``; ``("", relative)`` when the top folder is no split."""
    if len(relative.parts) > 1 and relative.parts[0] in SPLIT_FOLDERS:
        return relative.parts[0], Path(*relative.parts[1:])
    return "", relative
