"""Training batches for DMC, CAVL and the counter: a localization view of one shard set, epoch by epoch."""

from __future__ import annotations

import math
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
    iterators = [iter(s(epoch, rank, world_size)) for s in sets]
    for _ in range(steps):
        parts = []
        for i, s in enumerate(sets):
            try:
                parts.append(next(iterators[i]))
            except StopIteration:  # a small set starts over
                iterators[i] = iter(s(epoch, rank, world_size))
                parts.append(next(iterators[i]))
        yield _merge(parts)


def _merge(parts: list[dict]) -> dict:
    """One batch from batches with the same keys: tensors concatenated, lists joined, other values the first's."""
    import torch

    merged = {}
    for key, first in parts[0].items():
        values = [p[key] for p in parts]
        if isinstance(first, torch.Tensor):
            merged[key] = torch.cat(values)
        elif isinstance(first, (list, tuple)):
            merged[key] = [v for value in values for v in value]
        else:
            merged[key] = first
    return merged


class MemoryBatches:
    """``loader(epoch, rank, world_size)`` like :class:`BalancedBatches`, but from memory: construction reads
    every clip of each set once (one window per clip, the evaluation view's: the same every run) and keeps
    only the fields ``keep`` names besides ``key``, ``labels`` and ``n_sources``. Each epoch then draws
    ``steps`` batches with an equal share of every set; each set is walked in random orders drawn from
    ``(seed, epoch, rank, set)``, starting over with a new order when one runs out. With ``spares`` > 0 each
    batch also carries ``"spares"``: that many more clips (the same fields) drawn uniformly, with replacement,
    from every set's clips together (the counter builds its mosaics from them).

    For small sets read many times, such as the counter's 339 whole clips in the demo: 3,000 steps draw each
    solo about 50 times and each of the 16 clips of C3 and of C4 750 times. Streaming them again every epoch
    re-reads and re-parses every tar member of every clip (24 JPEG frames a clip) in DataLoader workers that
    share the cores with training: on 2 cores a counter's step took 1.8x as long
    (``avsep bench train counting --against counting.memory=false``).
    Memory: the kept tensors of every clip (the demo's motion maps: 64 KiB a clip).
    """

    def __init__(self, locations: list[str | Path], split: str, params: ShardParams, batch_size: int, seed: int,
                 keep: tuple[str, ...] = ("motion",), workers: int | None = None, spares: int = 0):
        if not locations:
            raise ValueError("MemoryBatches: no shard sets given")
        self.share, self.seed, self.spares = max(1, batch_size // len(locations)), seed, spares
        self.banks = [read_clips(location, split, params, batch_size, seed, keep, workers)
                      for location in locations]
        for location, bank in zip(locations, self.banks):
            if not bank["key"]:
                raise ValueError(f"MemoryBatches: {location} split {split!r} has no clips")
        self.steps = max(math.ceil(len(bank["key"]) / self.share) for bank in self.banks)
        self.skipped = 0  # the one read logs what it skips (avsep.shards); the epochs read nothing

    def __len__(self) -> int:
        return self.steps

    def close(self) -> None:
        """Nothing to stop: the clips were read once, in :meth:`__init__`."""

    def __call__(self, epoch: int, rank: int, world_size: int):
        import torch

        from avsep.train.seeding import generator_for

        generators = [generator_for(self.seed, epoch, rank, i) for i in range(len(self.banks))]
        spare_draws = generator_for(self.seed, epoch, rank, len(self.banks))
        sizes = torch.tensor([len(bank["key"]) for bank in self.banks])
        ends = sizes.cumsum(0)  # the union's index one past each bank
        orders: list[list[int]] = [[] for _ in self.banks]
        for _ in range(self.steps):
            picked = []
            for i, bank in enumerate(self.banks):
                while len(orders[i]) < self.share:
                    orders[i] += torch.randperm(len(bank["key"]), generator=generators[i]).tolist()
                picked.append(orders[i][: self.share])
                del orders[i][: self.share]
            batch = _gather(self.banks, picked)
            if self.spares:
                flat = torch.randint(int(ends[-1]), (self.spares,), generator=spare_draws)
                which = torch.bucketize(flat, ends, right=True)  # bank of each drawn clip
                offsets = flat - (ends - sizes)[which]
                batch["spares"] = _gather(self.banks, [offsets[which == i].tolist() for i in range(len(sizes))])
            yield batch


def read_clips(location: str | Path, split: str, params: ShardParams, batch_size: int, seed: int,
               keep: tuple[str, ...], workers: int | None = None) -> dict:
    """Every clip of one split of a shard set, once, in the evaluation view's order (each clip's one window):
    ``{"key": [...], "labels": [...], "n_sources": [...], name: (N, ...) tensor for name in keep}``."""
    import torch

    from avsep.shards import evaluation_view

    view = evaluation_view(str(location), split, params, view="localization", batch_size=batch_size, seed=seed)
    rows: dict[str, list] = {name: [] for name in ("index", "key", "labels", "n_sources", *keep)}
    workers = min(params.workers if workers is None else workers, len(view.shards.urls))  # a reader per shard
    loader = make_loader(view, params, workers=workers, ranks=1)  # every rank holds every clip
    for batch in loader:
        for name in rows:
            if name not in batch:
                raise KeyError(f"{location} ({split}): the localization view has no {name!r} (needed by the "
                               "memory loader; shards.localization.motion adds 'motion')")
            value = batch[name]
            rows[name] += list(value.unbind(0)) if isinstance(value, torch.Tensor) else list(value)
    order = sorted(range(len(rows["index"])), key=rows["index"].__getitem__)
    bank = {name: [rows[name][i] for i in order] for name in ("key", "labels", "n_sources")}
    for name in keep:
        bank[name] = torch.stack([rows[name][i] for i in order]) if order else torch.empty(0)
    return bank


def _gather(banks: list[dict], picked: list[list[int]]) -> dict:
    """One batch: the rows ``picked[i]`` of every bank ``i`` (:func:`_merge`)."""
    import torch

    return _merge([{name: column[rows] if isinstance(column, torch.Tensor) else [column[r] for r in rows]
                    for name, column in bank.items()} for bank, rows in zip(banks, picked)])
