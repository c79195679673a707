"""VGGSound: ``vggsound.csv`` as published, one row per (clip, label), no header.

Rows are ``youtube_id,start_seconds,label,split`` (``split`` is ``train`` or ``test``; a label with a comma is
quoted: ``-0BKyt8iZ1I,30,"donkey, ass braying",train``). A first row naming the columns (its start field says
``start``) is accepted and skipped. Each clip is the 10 s from ``start_seconds``; its dataset key is
``<youtube id>_<start:06d>`` (what VGG-SS and the released frame/audio folders are named by), kept in
``meta["source_key"]`` so box annotations can be joined to the clip's sample. Several rows of one clip merge
their labels (in order of appearance); rows of one clip that disagree on the split make the clip ``invalid``.

Media: with ``dataset.media_dir`` set, a clip whose file ``<key>.<ext>`` (``ext`` one of
``dataset.folder_extensions``) is in that folder is read from it, whole (the file is the clip already cut); every
other clip is fetched from YouTube, ``[start, start + 10)`` of the video. A malformed row (field count, YouTube id,
start that is not a whole number of seconds, split) is its own ``invalid`` manifest row naming its line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError, SourceError
from avsep.sources.index_checks import checked_labels, finished
from avsep.sources.index_text import check_name, csv_rows, parse_seconds, read_index_text
from avsep.sources.records import ClipRecord, invalid_record, safe_clip_id
from avsep.sources.youtube_ids import check_youtube_id, youtube_uri

log = logging.getLogger(__name__)

CLIP_SECONDS = 10.0  # every VGGSound clip is 10 s of its video (dataset fact)
SPLITS = ("train", "test")
N_FIELDS = 4
PREFIX = "vggsound-"


def clip_key(video_id: str, start: int) -> str:
    """The dataset's own name of a clip: ``<youtube id>_<start:06d>`` (VGG-SS ``file``, released file names)."""
    return f"{video_id}_{start:06d}"


@dataclass
class _Clip:
    video_id: str
    start: int
    split: str
    line: int
    labels: list[str] = field(default_factory=list)
    conflict: str = ""


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    index = Path(index)
    media = _media_files(index, params)
    clips: dict[str, _Clip] = {}
    entries: list[tuple[int, ClipRecord | str]] = []  # (line, invalid record or clip key), in index order
    for line, fields in csv_rows(index, read_index_text(index)):
        if line == 1 and _is_header(fields):
            continue
        try:
            video_id, start, label, split = _parsed_row(fields, index, line, params)
        except IndexFormatError as exc:
            # One malformed row is its own manifest row (status invalid), never a reason to drop the others.
            raw = f"vggsound-{fields[0] if fields else ''}"
            entries.append((line, invalid_record("vggsound", raw, f"line {line}", str(exc))))
            continue
        key = clip_key(video_id, start)
        clip = clips.get(key)
        if clip is None:
            clip = clips[key] = _Clip(video_id, start, split, line)
            entries.append((line, key))
        elif split != clip.split and not clip.conflict:
            where = f"{index}: line {line}: clip {key}"
            clip.conflict = f"{where} is in split {split!r} here, {clip.split!r} at line {clip.line}"
        if label not in clip.labels:
            clip.labels.append(label)
    records, wheres, skipped = [], [], 0
    for line, entry in entries:
        if isinstance(entry, ClipRecord):
            records.append(entry)
            wheres.append(line)
            continue
        clip = clips[entry]
        if clip.conflict:
            records.append(invalid_record("vggsound", PREFIX + entry, f"line {line}", clip.conflict, clip.labels))
            wheres.append(line)
            continue
        labels = checked_labels(clip.labels, index, line, params)
        if not labels:
            skipped += 1  # unknown_label: drop removed every label of the clip
            continue
        records.append(_record(entry, clip, labels, media.get(entry), params))
        wheres.append(line)
    if skipped:
        log.info("%s: %d clip(s) have no label in the vocabulary; skipped", index, skipped)
    return finished(records, wheres, index, params)


def _record(key: str, clip: _Clip, labels: list[str], local: Path | None, params: DatasetParams) -> ClipRecord:
    meta = {"youtube_id": clip.video_id, "source_key": key, "youtube_start_s": clip.start}
    if local is not None:
        # The file is the clip already cut: all of it, from its own start.
        uri, start_s, end_s = local.resolve().as_uri(), 0.0, None
    else:
        uri, start_s, end_s = youtube_uri(clip.video_id), float(clip.start), clip.start + CLIP_SECONDS
    return ClipRecord(
        clip_id=safe_clip_id(PREFIX + key, params.clip_id_max_len),
        source="vggsound",
        uri=uri,
        start_s=start_s,
        end_s=end_s,
        labels=labels,
        split=clip.split,
        meta=meta,
    )


def _is_header(fields: list[str]) -> bool:
    """A first row naming the columns (``youtube_id,start_seconds,label,split`` or the README's ``# YouTube ID,
    start seconds, ...``): its start field is a name, not a number."""
    return len(fields) >= 2 and "start" in fields[1].lower()


def _parsed_row(fields: list[str], index: Path, line: int, params: DatasetParams) -> tuple[str, int, str, str]:
    """``(YouTube id, start, label, split)`` of one row; IndexFormatError naming the line and the reason."""
    if len(fields) != N_FIELDS:
        raise IndexFormatError(index, line, f"{len(fields)} fields; expected youtube_id, start_seconds, label, split")
    video_id = check_youtube_id(fields[0], index, line)
    start = parse_seconds(fields[1], index, line, "start_seconds")
    if start != int(start):
        reason = f"start_seconds {fields[1]!r} is not a whole number (clips are named <id>_<start:06d>)"
        raise IndexFormatError(index, line, reason)
    label = check_name(fields[2], index, line, "label", params.label_max_len)
    if fields[3] not in SPLITS:
        raise IndexFormatError(index, line, f"split {fields[3][:60]!r} is not one of {', '.join(SPLITS)}")
    return video_id, int(start), label, fields[3]


def _media_files(index: Path, params: DatasetParams) -> dict[str, Path]:
    """``key -> file`` of ``dataset.media_dir`` (read once: a stat per clip on 200,000 clips is not free)."""
    if params.media_dir is None:
        return {}
    folder = Path(params.media_dir)
    folder = folder if folder.is_absolute() else index.parent / folder
    if not folder.is_dir():
        raise SourceError(f"dataset.media_dir = {params.media_dir!r}: {folder} is not a folder")
    suffixes = [s.lower() for s in params.folder_extensions]
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in suffixes or not path.is_file():
            continue
        kept = found.get(path.stem)
        # Two files of one clip (x.mp4 and x.webm): the first suffix of folder_extensions wins, so the choice
        # does not depend on the folder's listing order.
        if kept is None or suffixes.index(suffix) < suffixes.index(kept.suffix.lower()):
            found[path.stem] = path
    return found
