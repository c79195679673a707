"""Training batches for DMC, CAVL and the counter: a localization view of one shard set, epoch by epoch."""

from __future__ import annotations

from pathlib import Path

from avsep.config.shards import ShardParams
from avsep.shards import localization_view, make_loader


def with_window(params: ShardParams, window_s: float | None) -> ShardParams:
    """``params`` with another localization window (the counter sees whole clips); ``None`` keeps it."""
    if window_s is None:
        return params
    return params.model_copy(update={"localization": params.localization.model_copy(update={"window_s": window_s})})


class ShardBatches:
    """``loader(epoch, rank, world_size)`` for :class:`avsep.train.Stage`: the batches of one shard set.

    Batches: ``{"frame": (B, 3, H, W) uint8, "logmel": (B, 1, T, F), "negative": (B,) long, "labels", ...}``
    (:func:`avsep.shards.localization_view`); the order is a function of ``(seed, epoch)`` and the rank.
    ``steps`` is the number of batches one epoch has (the stage's ``steps_per_epoch``).

    A missing shard set raises :class:`avsep.shards.ShardSetError` naming its location.
    """

    def __init__(self, location: str | Path, split: str, params: ShardParams, batch_size: int, seed: int,
                 window_s: float | None = None):
        self.params = with_window(params, window_s)
        self.view = localization_view(str(location), split, self.params, batch_size=batch_size, seed=seed)
        self.loader = make_loader(self.view, self.params)
        self.steps = max(1, self.view.batches_per_epoch or 1)

    def __call__(self, epoch: int, rank: int, world_size: int):
        self.view.set_epoch(epoch)
        return self.loader
