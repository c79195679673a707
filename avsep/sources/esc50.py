"""ESC-50: ``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) + ``audio/``.

The index is ``meta/esc50.csv``; audio files are in ``audio/`` beside ``meta/`` (a missing one fails that
clip when fetched, not the index). Every clip is
one labelled 5-second sound: ``labels=[category]``, ``n_sources=1``, ``split="fold{k}"`` (evaluation is
leave-one-fold-out over the five folds).
"""

from __future__ import annotations

from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import checked_labels, contained_path, finished
from avsep.sources.index_text import named_rows
from avsep.sources.records import ClipRecord, safe_clip_id

COLUMNS = ("filename", "fold", "target", "category")
N_FOLDS = 5  # dataset fact


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    index = Path(index)
    audio_root = index.parent.parent / "audio"
    records, wheres = [], []
    for line, get in named_rows(index, COLUMNS):
        if get["fold"] not in {str(k) for k in range(1, N_FOLDS + 1)}:
            raise IndexFormatError(index, line, f"fold {get['fold']!r} is not 1..{N_FOLDS}")
        if not get["target"].isdigit():
            raise IndexFormatError(index, line, f"target {get['target']!r} is not a class number")
        labels = checked_labels([get["category"]], index, line, params)
        if not labels:
            continue  # unknown_label: drop
        # A missing audio file is that clip's failure (at fetch time), not the whole index's.
        audio = contained_path(audio_root, get["filename"], index, line, "filename")
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(f"esc50-{Path(get['filename']).stem}", params.clip_id_max_len),
                source="esc50",
                uri=audio.as_uri(),
                labels=labels,
                n_sources=1,
                split=f"fold{get['fold']}",
                meta={"fold": int(get["fold"]), "target": int(get["target"])},
            )
        )
        wheres.append(line)
    return finished(records, wheres, index, params)
