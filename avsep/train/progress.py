"""The progress bar of a training epoch: tqdm with rate and ETA, shown by rank 0 only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def epoch_length(loader: Iterable[Any], steps_per_epoch: int | None) -> int | None:
    """Batches in one epoch: ``steps_per_epoch`` caps the loader's ``len()``; ``None`` when neither is known."""
    try:
        known = len(loader)  # type: ignore[arg-type]
    except TypeError:  # iterables and IterableDatasets without a size
        known = None
    if steps_per_epoch is None:
        return known
    return steps_per_epoch if known is None else min(known, steps_per_epoch)


def epoch_bar(total: int | None, done: int, desc: str, enabled: bool) -> tqdm:
    """A bar for one epoch of ``total`` batches (``None``: unknown, shows a count and rate), ``done`` skipped.

    Use ``bar.update(1)`` per batch and ``bar.set_postfix(loss=...)`` at log steps; close it at the end.
    """
    return tqdm(total=total, initial=done, desc=desc, unit="batch", disable=not enabled, dynamic_ncols=True, leave=True)
