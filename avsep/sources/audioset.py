"""AudioSet segment CSVs restricted to a vocabulary (e.g. the musical instruments).

The CSV has three ``#`` comment lines, then ``YTID, start_seconds, end_seconds, "mid1,mid2"`` (fields
separated by ``, ``). ``dataset.ontology`` names ontology.json. A MID missing from the ontology is an unknown
label (``dataset.unknown_label``); MIDs outside the vocabulary are dropped; a clip with no vocabulary label
left is skipped (logged with the count). ``labels`` are node names; ``meta["mids"]`` keeps every MID of the
row for counting (avsep.dataset.curricula).
"""

from __future__ import annotations

import logging
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError, SourceError
from avsep.sources.index_checks import checked_labels, finished
from avsep.sources.index_text import csv_rows, parse_seconds, read_index_text
from avsep.sources.ontology import Ontology
from avsep.sources.records import ClipRecord, invalid_record, safe_clip_id
from avsep.sources.youtube_ids import check_youtube_id, youtube_uri

log = logging.getLogger(__name__)
N_FIELDS = 4


def load(index: str | Path, params: DatasetParams, ontology: Ontology | None = None) -> list[ClipRecord]:
    index = Path(index)
    if ontology is None:
        if params.ontology is None:
            raise SourceError("dataset.ontology: the audioset source needs the path of ontology.json")
        ontology = Ontology.load(params.ontology)
    vocabulary = ontology.vocabulary_mids(params.vocabulary, params.vocabulary_descendants)
    records, wheres, skipped = [], [], 0
    for line, fields in csv_rows(index, read_index_text(index), comment="#"):
        try:
            video_id, start, end, mids = _parsed_row(fields, index, line, params)
        except IndexFormatError as exc:
            # One malformed row is its own manifest row (status invalid), never a reason to drop the others.
            raw = f"audioset-{fields[0] if fields else ''}"
            records.append(invalid_record("audioset", raw, f"line {line}", str(exc)))
            wheres.append(line)
            continue
        known = []
        for mid in mids:
            if mid in ontology:
                known.append(mid)
            elif params.unknown_label == "error":
                raise IndexFormatError(index, line, f"unknown label {mid!r}: not in {ontology.origin}")
            else:
                log.warning("%s: line %d: dropping unknown label %r", index, line, mid)
        in_vocabulary = [m for m in known if vocabulary is None or m in vocabulary]
        if not in_vocabulary:
            skipped += 1
            continue
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(f"audioset-{video_id}-{round(start * 1000)}", params.clip_id_max_len),
                source="audioset",
                uri=youtube_uri(video_id),
                start_s=start,
                end_s=end,
                labels=[ontology.name(m) for m in in_vocabulary],
                meta={"youtube_id": video_id, "mids": known},
            )
        )
        wheres.append(line)
    if skipped:
        log.info("%s: %d clip(s) have no label in the vocabulary; skipped", index, skipped)
    return finished(records, wheres, index, params)


def _parsed_row(
    fields: list[str], index: Path, line: int, params: DatasetParams
) -> tuple[str, float, float, list[str]]:
    """``(YouTube id, start, end, label MIDs)`` of one row; IndexFormatError naming the line and the reason."""
    if len(fields) != N_FIELDS:
        raise IndexFormatError(index, line, f'{len(fields)} fields; expected YTID, start, end, "labels"')
    video_id = check_youtube_id(fields[0], index, line)
    start = parse_seconds(fields[1], index, line, "start_seconds")
    end = parse_seconds(fields[2], index, line, "end_seconds")
    if end <= start:
        raise IndexFormatError(index, line, f"end_seconds {end} <= start_seconds {start}")
    return video_id, start, end, checked_labels(fields[3].split(","), index, line, params, closed=False)
