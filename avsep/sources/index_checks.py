"""Checks shared by every source: labels against a vocabulary, duplicate ids, an empty index."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_text import check_name
from avsep.sources.records import ClipRecord

log = logging.getLogger(__name__)


def checked_labels(
    labels: Iterable[str], path: str | Path, where: int | str, params: DatasetParams, closed: bool = True
) -> list[str]:
    """Validate label texts; with a vocabulary (and ``closed``), enforce ``params.unknown_label``.

    Returns the labels kept, in order, without repeats. ``closed=False`` only checks the text (AudioSet
    restricts by vocabulary itself, since labels outside it are normal there).
    """
    vocabulary = set(params.vocabulary)
    kept: list[str] = []
    for label in labels:
        check_name(label, path, where, "label", params.label_max_len)
        if closed and vocabulary and label not in vocabulary:
            if params.unknown_label == "error":
                raise IndexFormatError(
                    path, where, f"unknown label {label!r} (not in dataset.vocabulary; set unknown_label: drop to skip)"
                )
            log.warning("%s: %s: dropping unknown label %r", path, where, label)
            continue
        if label not in kept:
            kept.append(label)
    return kept


def finished(
    records: list[ClipRecord], wheres: Sequence[int | str], path: str | Path, params: DatasetParams
) -> list[ClipRecord]:
    """Refuse an empty index; apply ``params.duplicates`` to repeated clip ids (naming both places)."""
    if not records:
        raise IndexFormatError(path, None, "index has no clips")
    first_seen: dict[str, int | str] = {}
    kept: list[ClipRecord] = []
    for record, where in zip(records, wheres, strict=True):
        if record.clip_id in first_seen:
            if params.duplicates == "error":
                raise IndexFormatError(
                    path, where, f"duplicate clip id {record.clip_id!r} (first at {first_seen[record.clip_id]})"
                )
            log.warning("%s: %s: duplicate clip id %r ignored", path, where, record.clip_id)
            continue
        first_seen[record.clip_id] = where
        kept.append(record)
    return kept


def contained_path(root: Path, relative: str, path: str | Path, where: int | str, what: str) -> Path:
    """``root/relative`` resolved; an absolute path or one escaping ``root`` (``../``, symlinks) is an error."""
    check_name(relative, path, where, what)
    if Path(relative).is_absolute():
        raise IndexFormatError(path, where, f"{what} {relative[:80]!r} is absolute; must be relative to {root}")
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise IndexFormatError(path, where, f"{what} {relative[:80]!r} points outside {root}")
    return target
