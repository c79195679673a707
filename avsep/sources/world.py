"""The built-in world's ``index.csv`` (docs/contracts.md, "World index") as clip records."""

from __future__ import annotations

from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import checked_labels, contained_path, finished
from avsep.sources.index_text import named_rows, parse_seconds
from avsep.sources.records import ClipRecord, safe_clip_id

COLUMNS = ("clip_id", "path", "annotation", "start_s", "end_s", "labels", "visible", "split", "scene", "n_sources")
SPLITS = ("train", "val", "test")


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    """One record per row; ``n_sources`` is the world's ground truth; paths must stay inside the index folder."""
    index = Path(index)
    root = index.parent
    records, wheres = [], []
    for line, get in named_rows(index, COLUMNS):
        start = parse_seconds(get["start_s"], index, line, "start_s")
        end = parse_seconds(get["end_s"], index, line, "end_s")
        if end <= start:
            raise IndexFormatError(index, line, f"end_s {end} <= start_s {start}")
        if get["split"] not in SPLITS:
            raise IndexFormatError(index, line, f"split {get['split']!r} is not one of {', '.join(SPLITS)}")
        try:
            n_sources = int(get["n_sources"])
        except ValueError:
            raise IndexFormatError(index, line, f"n_sources {get['n_sources']!r} is not an integer") from None
        labels = checked_labels(_split_list(get["labels"]), index, line, params)
        if n_sources < 0:
            raise IndexFormatError(index, line, f"n_sources {n_sources} is negative")
        video = contained_path(root, get["path"], index, line, "path")
        annotation = contained_path(root, get["annotation"], index, line, "annotation") if get["annotation"] else None
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(get["clip_id"], params.clip_id_max_len),
                source="world",
                uri=video.as_uri(),
                start_s=start,
                end_s=end,
                labels=labels,
                n_sources=n_sources,
                split=get["split"],
                annotation=str(annotation) if annotation else "",
                meta={"scene": get["scene"], "visible": _split_list(get["visible"])},
            )
        )
        wheres.append(line)
    return finished(records, wheres, index, params)


def _split_list(field: str) -> list[str]:
    return [part.strip() for part in field.split(",") if part.strip()]
