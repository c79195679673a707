"""Training batches for DMC, CAVL and the counter: a localization view of one shard set, epoch by epoch."""

from __future__ import annotations

from pathlib import Path

from avsep.config.shards import ShardParams
from avsep.shards import close_loader, localization_view, make_loader


def with_window(params: ShardParams, window_s: float | None) -> ShardParams:
    """``params`` with another localization window (the counter sees whole clips); ``None`` keeps it."""
    if window_s is None:
        return params
    return params.model_copy(update={"localization": params.localization.model_copy(update={"window_s": window_s})})


class ShardBatches:
    """``loader(epoch, rank, world_size)`` for :class:`avsep.train.Stage`: the batches of one shard set.

    Batches: ``{"frame": (B, 3, H, W) uint8, "logmel": (B, 1, T, F), "negative": (B,) long, "labels", ...}``
    (:func:`avsep.shards.localization_view`; no ``logmel`` with ``with_logmel=False``); the order is a
    function of ``(seed, epoch)`` and the rank.
    ``steps`` is the number of batches one epoch has (the stage's ``steps_per_epoch``).

    A missing shard set raises :class:`avsep.shards.ShardSetError` naming its location.
    """

    def __init__(self, location: str | Path, split: str, params: ShardParams, batch_size: int, seed: int,
                 window_s: float | None = None, with_logmel: bool = True):
        self.params = with_window(params, window_s)
        self.view = localization_view(str(location), split, self.params, batch_size=batch_size, seed=seed,
                                      with_logmel=with_logmel)
        self.loader = make_loader(self.view, self.params)
        self.steps = max(1, self.view.batches_per_epoch or 1)

    def __call__(self, epoch: int, rank: int, world_size: int):
        self.view.set_epoch(epoch)
        return self.loader

    def close(self) -> None:
        """Stop the loader's persistent workers (the trainer calls it when the stage ends)."""
        close_loader(self.loader)


class BalancedBatches:
    """``loader(epoch, rank, world_size)`` drawing equally from several shard sets: each batch is the
    concatenation of one ``batch_size // len(locations)`` batch of every set (e.g. C1..C4, so every number of
    sources is a quarter of each batch whatever the sets' sizes). A set that runs out within an epoch starts
    over (same order: a function of ``(seed, epoch)``); an epoch is as long as the longest set's.

    Batches have the keys of :class:`ShardBatches`' (tensors concatenated, lists joined).
    """

    def __init__(self, locations: list[str | Path], split: str, params: ShardParams, batch_size: int, seed: int,
                 window_s: float | None = None, with_logmel: bool = True):
        if not locations:
            raise ValueError("BalancedBatches: no shard sets given")
        share = max(1, batch_size // len(locations))
        self.sets = [ShardBatches(location, split, params, share, seed, window_s, with_logmel)
                     for location in locations]
        self.steps = max(s.steps for s in self.sets)

    @property
    def skipped(self) -> int:
        """Corrupt samples / unreadable shards skipped so far, over every set (the trainer logs it)."""
        from avsep.train.stage_loop import skipped_of

        return sum(skipped_of(s.loader) or 0 for s in self.sets)

    def __len__(self) -> int:
        return self.steps

    def close(self) -> None:
        for s in self.sets:
            s.close()

    def __call__(self, epoch: int, rank: int, world_size: int):
        return _balanced(self.sets, epoch, rank, world_size, self.steps)


def _balanced(sets: list[ShardBatches], epoch: int, rank: int, world_size: int, steps: int):
    import torch

    iterators = [iter(s(epoch, rank, world_size)) for s in sets]
    for _ in range(steps):
        parts = []
        for i, s in enumerate(sets):
            try:
                parts.append(next(iterators[i]))
            except StopIteration:  # a small set starts over
                iterators[i] = iter(s(epoch, rank, world_size))
                parts.append(next(iterators[i]))
        merged = {}
        for key, first in parts[0].items():
            values = [p[key] for p in parts]
            if isinstance(first, torch.Tensor):
                merged[key] = torch.cat(values)
            elif isinstance(first, (list, tuple)):
                merged[key] = [v for value in values for v in value]
            else:
                merged[key] = first
        yield merged
