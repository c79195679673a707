"""The classes a model scores: the vocabulary of the dataset it is trained and evaluated on.

Their order is the index of a class in every class-aware output. The build records the vocabulary beside the
shards (:mod:`avsep.shards.classes`); :func:`with_data_classes` makes ``params.dataset.classes`` the one the
shards under a data root were built with, and :func:`classes_of` reads it, so ``build(params)`` sizes a class
head by the data it will see. ``CLASSES`` is the default vocabulary (MUSIC-11: the world's and MUSIC's).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from avsep.config.vocabularies import MUSIC_CLASSES, VOCABULARIES, vocabulary
from avsep.shards.classes import build_classes

log = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = MUSIC_CLASSES  # the default vocabulary; class index = position in the sorted names
_MODEL_CLASSES = "avsep_classes"  # attribute build() sets on a class-agnostic network (see with_classes)


def classes_of(params) -> tuple[str, ...]:
    """The class names of ``params.dataset.classes``, in index order."""
    return vocabulary(params.dataset.classes).classes


def with_data_classes(params, data_root: str | Path):
    """``params`` whose ``dataset.classes`` is the list the shards under ``data_root / "shards"`` were built with
    (``params`` itself when they agree or no set is there); a differing value in ``params`` is logged, since
    the shards, not the params, say what their labels mean."""
    recorded = build_classes(Path(data_root) / "shards")
    if recorded is None or recorded == classes_of(params):
        return params
    log.warning(
        "%s: shards built with %d classes (%s, ...), params say dataset.classes = %r; using the shards' classes",
        Path(data_root) / "shards",
        len(recorded),
        ", ".join(recorded[:3]),
        params.dataset.classes,
    )
    return params.model_copy(
        update={"dataset": params.dataset.model_copy(update={"classes": _spec(recorded)})}, deep=True
    )


def _spec(classes: tuple[str, ...]) -> str | list[str]:
    """A built-in vocabulary's name where ``classes`` is one (params stay readable), else the list."""
    return next((name for name, v in VOCABULARIES.items() if v.classes == classes), list(classes))


def with_classes(model: Any, classes: tuple[str, ...]):
    """``model`` told the classes it scores (a plain attribute, not a weight): a class-agnostic network repeats
    its one map over them in its ``class_aware`` task (:func:`per_class`)."""
    setattr(model, _MODEL_CLASSES, tuple(classes))
    return model


def model_classes(model: Any) -> tuple[str, ...]:
    """The classes :func:`with_classes` gave ``model``; the default vocabulary for a network made without
    ``build(params)`` (as unit tests make them)."""
    return getattr(model, _MODEL_CLASSES, CLASSES)


def per_class(maps, model: Any):
    """``(B, h, w)`` class-agnostic maps → ``(B, K, h, w)``, the same map for each of ``model``'s K classes."""
    return maps[:, None].expand(-1, len(model_classes(model)), -1, -1)


def multi_hot(rows, classes: tuple[str, ...] = CLASSES, device=None):
    """``(len(rows), len(classes))`` float tensor: 1 at the index of every name of each row; names outside
    ``classes`` are ignored (callers that must refuse them check first, naming their input)."""
    import torch

    out = torch.zeros(len(rows), len(classes), device=device)
    for i, names in enumerate(rows):
        for name in names:
            if name in classes:
                out[i, classes.index(name)] = 1.0
    return out
