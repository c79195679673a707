"""The classes every method scores: their order is the index of a class in every class-aware output."""

from __future__ import annotations

from avsep.config.world import MUSIC_CLASSES

CLASSES: tuple[str, ...] = MUSIC_CLASSES  # class index = position in the sorted MUSIC names


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
