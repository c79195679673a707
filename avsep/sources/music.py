"""MUSIC / MUSIC21 JSON indexes: ``{"videos": {class: [YouTube IDs]}}``; duet keys are space-joined pairs.

Solo files (MUSIC, MUSIC21) and duet files share the format; a key with a space is a duet. Labels are the
class names; ``n_sources`` is 1 for solo and 2 for duet. Split as DSOL: the first
``music_test_per_class`` (solo) / ``music_duet_test_per_class`` (duet) IDs of each key are test, the rest train.
"""

from __future__ import annotations

from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import checked_labels, finished
from avsep.sources.index_text import read_index_json
from avsep.sources.records import ClipRecord, invalid_record, safe_clip_id
from avsep.sources.youtube_ids import is_youtube_id, youtube_uri


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    index = Path(index)
    data = read_index_json(index)
    if not isinstance(data, dict) or not isinstance(data.get("videos"), dict):
        raise IndexFormatError(index, "videos", 'expected {"videos": {class: [YouTube IDs]}}')
    records, wheres = [], []
    for key in sorted(data["videos"]):
        ids = data["videos"][key]
        where = f"videos/{key[:60]}"
        classes = key.split(" ")
        problem = ""
        if not isinstance(ids, list):
            problem = f"expected a list of YouTube IDs, got {type(ids).__name__}"
        elif len(classes) > 2 or len(set(classes)) != len(classes) or "" in classes:
            problem = f"key {key[:60]!r} is neither a class nor a space-joined pair"
        if problem:
            # A malformed class entry is one row (its videos cannot be told apart); the other classes build.
            records.append(invalid_record("music", f"music-{key}", where, f"{index}: {where}: {problem}"))
            wheres.append(where)
            continue
        labels = checked_labels(classes, index, where, params)
        if len(labels) != len(classes):
            continue  # unknown_label: drop removed a class; the clip's sources are then unknown, so skip it
        n_test = params.music_test_per_class if len(classes) == 1 else params.music_duet_test_per_class
        for position, video_id in enumerate(ids):
            item = f"{where}[{position}]"
            reason = _entry_problem(video_id)
            if reason:
                # One bad entry is its own manifest row, never a reason to drop the whole index.
                records.append(invalid_record("music", f"music-{video_id}", item, f"{index}: {item}: {reason}", labels))
                wheres.append(item)
                continue
            assert isinstance(video_id, str)  # _entry_problem: a string of a YouTube id
            records.append(
                ClipRecord(
                    clip_id=safe_clip_id(f"music-{video_id}", params.clip_id_max_len),
                    source="music",
                    uri=youtube_uri(video_id),
                    labels=labels,
                    n_sources=len(classes),
                    split="test" if position < n_test else "train",
                    meta={"youtube_id": video_id, "scene": "solo" if len(classes) == 1 else "duet"},
                )
            )
            wheres.append(item)
    return finished(records, wheres, index, params)


def _entry_problem(video_id: object) -> str:
    """Why an entry of a class's list is not a video ("" when it is one)."""
    if not isinstance(video_id, str):
        return f"expected a YouTube ID string, got {type(video_id).__name__}"
    if not is_youtube_id(video_id):
        return f"not a YouTube video ID (11 of [A-Za-z0-9_-]): {video_id[:60]!r}"
    return ""
