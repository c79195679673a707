"""Clip labels against the dataset's class vocabulary (``dataset.classes``), before anything is built.

A label that names a class by its AudioSet MID or display name (the ``audioset`` source's labels) becomes the
class name, so samples carry the names models are indexed by; a label outside the vocabulary is kept as it is
and counted: the build logs the count per label and writes it into the build summary, and no clip is dropped
for it (a model scores only the classes it knows; the report says how many labels it could not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from avsep.config.vocabularies import Vocabulary
from avsep.sources.records import ClipRecord


def labelled_with(records: Iterable[ClipRecord], vocab: Vocabulary) -> tuple[list[ClipRecord], Counter[str]]:
    """``(records with labels named as in vocab, {label outside vocab: clips carrying it})``.

    A record whose labels are already class names is returned as it is (the same object), so a build whose
    labels all are class names (the world's) is untouched."""
    out: list[ClipRecord] = []
    outside: Counter[str] = Counter()
    for record in records:
        named = []
        for label in record.labels:
            name = vocab.class_of(label)
            if name is None:
                outside[label] += 1
            named.append(name or label)
        if named == record.labels:
            out.append(record)
        else:  # two labels of one class (its MID and its name) are one label
            out.append(replace(record, labels=list(dict.fromkeys(named))))
    return out, outside


def outside_text(outside: Counter[str]) -> str:
    """``"guitar: 3, kazoo: 1"``: labels by falling count, then name."""
    return ", ".join(f"{label}: {n}" for label, n in sorted(outside.items(), key=lambda item: (-item[1], item[0])))
