"""The class vocabulary a shard set was built with: ``classes.json`` beside ``sizes.json``.

``{"vocabulary": "audioset_instruments15", "classes": ["accordion", ...]}``: the names every class-aware output
of a model trained or scored on the set is indexed by (class index = position). A set without the file holds
MUSIC-11 labels (``avsep.config.vocabularies.MUSIC_CLASSES``): the build writes it only for another vocabulary,
so the default build's shard folders stay exactly what they were before vocabularies existed.
"""

from __future__ import annotations

import json
from pathlib import Path

from avsep.config.vocabularies import MUSIC_CLASSES, Vocabulary
from avsep.io import atomic_write_text
from avsep.shards.writer import SIZES_FILE

CLASSES_FILE = "classes.json"


class ShardClassesError(ValueError):
    """A shard set's class record cannot be read, or the sets of one build disagree; names the file."""


def record_classes(directory: str | Path, vocab: Vocabulary) -> Path | None:
    """Write ``directory/classes.json`` for ``vocab`` atomically, or remove it for the default vocabulary (a
    rebuild with the default must not leave an earlier vocabulary's record behind). Returns the path written."""
    path = Path(directory) / CLASSES_FILE
    if vocab.classes == MUSIC_CLASSES:
        path.unlink(missing_ok=True)
        return None
    text = json.dumps({"vocabulary": vocab.name, "classes": list(vocab.classes)}, indent=1) + "\n"
    return atomic_write_text(path, text)


def read_classes(directory: str | Path) -> tuple[str, ...]:
    """The classes of the shard set in ``directory`` (MUSIC-11 without a ``classes.json``)."""
    path = Path(directory) / CLASSES_FILE
    if not path.is_file():
        return MUSIC_CLASSES
    try:
        classes = json.loads(path.read_text(encoding="utf-8"))["classes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ShardClassesError(f"{path}: not a class record ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise ShardClassesError(f"{path}: 'classes' must be a non-empty list of names")
    return tuple(classes)


def build_classes(shards_root: str | Path) -> tuple[str, ...] | None:
    """The classes of every shard set under ``shards_root`` (``DATA/shards``); ``None`` when it holds no set.

    One build writes all its sets with one vocabulary; sets that disagree (a set left from another build) are
    an error naming them, since a model cannot be indexed by two vocabularies."""
    root = Path(shards_root)
    found: dict[tuple[str, ...], list[str]] = {}
    for sizes in sorted(root.glob(f"*/{SIZES_FILE}")):
        found.setdefault(read_classes(sizes.parent), []).append(sizes.parent.name)
    if not found:
        return None
    if len(found) > 1:
        described = "; ".join(
            f"{', '.join(sets)}: {len(c)} classes ({', '.join(c[:3])}, ...)" for c, sets in found.items()
        )
        raise ShardClassesError(f"{root}: shard sets built with different class vocabularies ({described})")
    return next(iter(found))
