"""Counting sound sources per clip and the curricula C1..C4 (CAVL: 1, 2, 3, 4+ sources).

Counts come from labels where a source has them:

- AudioSet (and any clip whose labels are ontology nodes): keep the vocabulary's labels, drop abstract /
  blacklisted nodes, drop every label that is an ancestor (transitively, via ``child_ids``) of another
  label of the same clip, count the rest (:func:`count_from_ontology`);
- MUSIC: solo = 1, duet = 2 (the number of classes in the key); ESC-50: 1;
- the world: its ground truth;
- other labelled sources without an ontology: the number of distinct labels;

or from a predictions file ``clip_id,n_sources`` written by the learned counter (unlabelled clips).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_text import csv_rows, read_index_text
from avsep.sources.ontology import Ontology
from avsep.sources.records import N_SOURCES_UNKNOWN, ClipRecord

log = logging.getLogger(__name__)
CURRICULA = ("C1", "C2", "C3", "C4")
GROUND_TRUTH_SOURCES = ("world", "music", "esc50")  # their loaders already set n_sources from the index


def count_from_ontology(labels: Iterable[str], ontology: Ontology, vocabulary: frozenset[str] | None = None) -> int:
    """Number of sound sources named by ``labels`` (MIDs or unique node names).

    ``vocabulary``: MIDs to keep (None keeps all). Unknown labels raise KeyError naming the label.
    """
    kept = {ontology.resolve(label) for label in labels}
    if vocabulary is not None:
        kept &= vocabulary
    kept = {mid for mid in kept if not ontology.is_excluded(mid)}
    # A label that is an ancestor of another label of the clip names the same sound less precisely.
    implied: set[str] = set()
    for mid in kept:
        implied |= ontology.ancestors(mid)
    return len(kept - implied)


def curriculum_of(n_sources: int) -> str:
    """``"C1"``..``"C4"`` for 1, 2, 3, 4-or-more sources; ValueError for fewer than one."""
    if n_sources < 1:
        raise ValueError(f"n_sources={n_sources}: a clip needs at least one sound source to join a curriculum")
    return CURRICULA[min(n_sources, len(CURRICULA)) - 1]


def read_predictions(path: str | Path) -> dict[str, int]:
    """``{clip_id: n_sources}`` from the learned counter's CSV (header ``clip_id,n_sources``)."""
    rows = csv_rows(path, read_index_text(path))
    header = next(rows, None)
    if header is None or [h.lower() for h in header[1]] != ["clip_id", "n_sources"]:
        raise IndexFormatError(path, header[0] if header else None, "header must be clip_id,n_sources")
    predictions: dict[str, int] = {}
    for line, fields in rows:
        if len(fields) != 2:
            raise IndexFormatError(path, line, f"{len(fields)} fields; expected clip_id,n_sources")
        clip_id, text = fields
        if not text.isdigit():
            raise IndexFormatError(path, line, f"n_sources {text[:40]!r} is not a non-negative integer")
        if clip_id in predictions:
            raise IndexFormatError(path, line, f"duplicate clip id {clip_id[:80]!r}")
        predictions[clip_id] = int(text)
    return predictions


def count_sources(
    record: ClipRecord,
    params: DatasetParams,
    ontology: Ontology | None = None,
    predictions: dict[str, int] | None = None,
) -> int:
    """The number of sound sources of ``record`` per ``params.count_from``; N_SOURCES_UNKNOWN if none applies."""
    from_labels = N_SOURCES_UNKNOWN
    if params.count_from != "predictions":
        from_labels = _count_from_labels(record, params, ontology)
    if from_labels != N_SOURCES_UNKNOWN or params.count_from == "labels":
        return from_labels
    if predictions is None:
        raise ValueError("dataset.predictions: a predictions file is needed to count unlabelled clips")
    return predictions.get(record.clip_id, N_SOURCES_UNKNOWN)


def _count_from_labels(record: ClipRecord, params: DatasetParams, ontology: Ontology | None) -> int:
    if record.source in GROUND_TRUTH_SOURCES:
        return record.n_sources
    if ontology is not None and (record.meta.get("mids") or record.labels):
        vocabulary = ontology.vocabulary_mids(params.vocabulary, params.vocabulary_descendants)
        try:
            return count_from_ontology(record.meta.get("mids") or record.labels, ontology, vocabulary)
        except KeyError as exc:
            raise ValueError(f"clip {record.clip_id}: {exc.args[0]}") from None
    if record.source == "audioset":
        raise ValueError("dataset.ontology: counting AudioSet labels needs ontology.json")
    return len(set(record.labels)) if record.labels else N_SOURCES_UNKNOWN


def assign_curricula(
    records: list[ClipRecord],
    params: DatasetParams,
    ontology: Ontology | None = None,
    predictions: dict[str, int] | None = None,
) -> Counter:
    """Set ``n_sources`` and ``curriculum`` of every record in place; returns the count per curriculum.

    Clips with no known count or no source get ``curriculum=""`` (counted under ``"none"``) and stay in the
    manifest; they just join no curriculum shard set.
    """
    if ontology is None and params.ontology is not None:
        ontology = Ontology.load(params.ontology)
    if predictions is None and params.predictions is not None and params.count_from != "labels":
        predictions = read_predictions(params.predictions)
    counts: Counter = Counter()
    for record in records:
        record.n_sources = count_sources(record, params, ontology, predictions)
        record.curriculum = curriculum_of(record.n_sources) if record.n_sources >= 1 else ""
        counts[record.curriculum or "none"] += 1
    log.info("curricula: %s", ", ".join(f"{k} {counts[k]}" for k in (*CURRICULA, "none") if counts[k]))
    return counts
