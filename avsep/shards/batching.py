"""The one batching layer every method trains from: ``loader(epoch, rank, world_size)`` objects for
:class:`avsep.train.Stage` over the shard views, and the batch transforms they apply.

- :class:`ShardBatches`: one shard set's localization view (DMC, CAVL, pre-training);
- :class:`BalancedBatches`: an equal share of several sets in every batch (the streamed counter);
- :class:`MemoryBatches`: the same from clips read once into memory (the counter's default);
- :func:`localization_batches` / :class:`SizedBatches`: one epoch of a view with a per-batch transform
  (DSOL's :func:`solo_rows`, MSSL's training clips), :func:`cocktail_batches` for DSOL's cocktail set;
- :class:`InterleavedBatches`: views over several sets taken in turn, with batch repeats (separation).

Skipped data is counted one way: every shard view counts the corrupt samples and unreadable shards it skips
(:class:`avsep.shards.skips.SkipCounter`, across DataLoader workers), and whatever a loader here returns
for an epoch carries ``skipped``, the total over its views so far; the trainer logs the epoch's difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any

from avsep.config import derive
from avsep.config.shards import ShardParams
from avsep.shards.views import (
    close_loader,
    cocktail_view,
    evaluation_view,
    localization_view,
    make_loader,
    separation_view,
)
from avsep.train.rows import rolled_negatives, select_rows


def with_window(params: ShardParams, window_s: float | None, windows_per_clip: int | None = None) -> ShardParams:
    """``params`` with another localization window (the counter sees whole clips; DMC's paper ~5 s) and another
    number of windows per clip and epoch; ``None`` keeps each."""
    changes: dict = {}
    if window_s is not None:
        changes["localization.window_s"] = window_s
    if windows_per_clip is not None:
        changes["localization.windows_per_clip"] = windows_per_clip
    return derive(params, changes) if changes else params


def skipped_of(loader: Any) -> int:
    """Corrupt samples / unreadable shards a loader of this module, a DataLoader over a shard view or the view
    itself has skipped so far (all its workers); 0 for anything that does not count."""
    value = getattr(loader, "skipped", None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    inner = getattr(loader, "dataset", None)  # a DataLoader: its view counts
    return skipped_of(inner) if inner is not None else 0


class Epoch:
    """One epoch's batches: iterable, with ``len()`` when ``length`` is known and ``skipped`` (the total over
    ``counted``, the loaders or views it reads, so far)."""

    def __init__(self, batches: Iterable[dict], length: int | None, counted: list):
        self.batches, self.length, self.counted = batches, length, counted

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("length unknown")
        return self.length

    @property
    def skipped(self) -> int:
        return sum(skipped_of(c) for c in self.counted)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.batches)


class ShardBatches:
    """``loader(epoch, rank, world_size)`` for :class:`avsep.train.Stage`: the batches of one shard set.

    Batches: ``{"frame": (B, 3, H, W) uint8, "logmel": (B, 1, T, F), "negative": (B,) long, "labels", ...}``
    (:func:`avsep.shards.localization_view`; no ``logmel`` with ``with_logmel=False``); the order is a
    function of ``(seed, epoch)`` and the rank.
    ``steps`` is the number of batches one epoch has (the stage's ``steps_per_epoch``).

    A missing shard set raises :class:`avsep.shards.ShardSetError` naming its location.
    """

    def __init__(
        self,
        location: str | Path,
        split: str,
        params: ShardParams,
        batch_size: int,
        seed: int,
        window_s: float | None = None,
        with_logmel: bool = True,
        windows_per_clip: int | None = None,
    ):
        self.params = with_window(params, window_s, windows_per_clip)
        self.view = localization_view(
            str(location), split, self.params, batch_size=batch_size, seed=seed, with_logmel=with_logmel
        )
        self.loader = make_loader(self.view, self.params)
        self.steps = max(1, self.view.batches_per_epoch or 1)

    @property
    def skipped(self) -> int:
        """Corrupt samples / unreadable shards the view skipped so far (the trainer logs it)."""
        return self.view.skipped

    def __call__(self, epoch: int, rank: int, world_size: int):
        self.view.set_epoch(epoch)
        return self.loader  # the DataLoader itself: its view counts what it skips

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

    def __init__(
        self,
        locations: list[str | Path],
        split: str,
        params: ShardParams,
        batch_size: int,
        seed: int,
        window_s: float | None = None,
        with_logmel: bool = True,
    ):
        if not locations:
            raise ValueError("BalancedBatches: no shard sets given")
        share = max(1, batch_size // len(locations))
        self.sets = [
            ShardBatches(location, split, params, share, seed, window_s, with_logmel) for location in locations
        ]
        self.steps = max(s.steps for s in self.sets)

    @property
    def skipped(self) -> int:
        """Corrupt samples / unreadable shards skipped so far, over every set (the trainer logs it)."""
        return sum(s.skipped for s in self.sets)

    def __len__(self) -> int:
        return self.steps

    def close(self) -> None:
        for s in self.sets:
            s.close()

    def __call__(self, epoch: int, rank: int, world_size: int) -> Epoch:
        return Epoch(_balanced(self.sets, epoch, rank, world_size, self.steps), self.steps, self.sets)


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

    merged: dict[str, Any] = {}
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
    share the cores with training (``avsep bench train counting --against counting.memory=false`` measures the
    difference; docs/benchmarks.md).
    Memory: the kept tensors of every clip (the demo's motion maps: 64 KiB a clip).
    """

    def __init__(
        self,
        locations: list[str | Path],
        split: str,
        params: ShardParams,
        batch_size: int,
        seed: int,
        keep: tuple[str, ...] = ("motion",),
        workers: int | None = None,
        spares: int = 0,
    ):
        if not locations:
            raise ValueError("MemoryBatches: no shard sets given")
        self.share, self.seed, self.spares = max(1, batch_size // len(locations)), seed, spares
        self.banks = [read_clips(location, split, params, batch_size, seed, keep, workers) for location in locations]
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


def read_clips(
    location: str | Path,
    split: str,
    params: ShardParams,
    batch_size: int,
    seed: int,
    keep: tuple[str, ...],
    workers: int | None = None,
) -> dict:
    """Every clip of one split of a shard set, once, in the evaluation view's order (each clip's one window):
    ``{"key": [...], "labels": [...], "n_sources": [...], name: (N, ...) tensor for name in keep}``."""
    import torch

    view = evaluation_view(str(location), split, params, view="localization", batch_size=batch_size, seed=seed)
    rows: dict[str, list] = {name: [] for name in ("index", "key", "labels", "n_sources", *keep)}
    workers = min(params.workers if workers is None else workers, len(view.shards.urls))  # a reader per shard
    loader = make_loader(view, params, workers=workers, ranks=1)  # every rank holds every clip
    for batch in loader:
        for name in rows:
            if name not in batch:
                raise KeyError(
                    f"{location} ({split}): the localization view has no {name!r} (needed by the "
                    "memory loader; shards.localization.motion adds 'motion')"
                )
            value = batch[name]
            rows[name] += list(value.unbind(0)) if isinstance(value, torch.Tensor) else list(value)
    order = sorted(range(len(rows["index"])), key=rows["index"].__getitem__)
    bank: dict[str, Any] = {name: [rows[name][i] for i in order] for name in ("key", "labels", "n_sources")}
    for name in keep:
        bank[name] = torch.stack([rows[name][i] for i in order]) if order else torch.empty(0)
    return bank


def _gather(banks: list[dict], picked: list[list[int]]) -> dict:
    """One batch: the rows ``picked[i]`` of every bank ``i`` (:func:`_merge`)."""
    import torch

    return _merge(
        [
            {
                name: column[rows] if isinstance(column, torch.Tensor) else [column[r] for r in rows]
                for name, column in bank.items()
            }
            for bank, rows in zip(banks, picked)
        ]
    )


def solo_rows(batch: dict, key_filter: Callable[[str], bool] | None = None) -> dict | None:
    """The rows of a localization-view batch with exactly one sounding class (and, with ``key_filter``, a key
    it accepts), negatives re-drawn among them.

    Returns ``None`` when no row (or a single row) is solo: a batch needs a negative.
    """
    keep = [
        i
        for i, labels in enumerate(batch["labels"])
        if len(labels) == 1 and (key_filter is None or key_filter(batch["key"][i]))
    ]
    return _rows_with_negatives(batch, keep)


def multi_source_rows(batch: dict) -> dict | None:
    """The rows of a localization-view batch with two or more sounding classes (duets, k >= 2 scenes),
    negatives re-drawn among them; ``None`` when fewer than two rows are left."""
    return _rows_with_negatives(batch, [i for i, labels in enumerate(batch["labels"]) if len(labels) >= 2])


def _rows_with_negatives(batch: dict, keep: list[int]) -> dict | None:
    if len(keep) < 2:
        return None
    out = select_rows(batch, keep, len(batch["labels"]))
    out["negative"], out["negative_valid"] = rolled_negatives(list(out["key"]))
    return out


def with_rolled_negatives(batch: dict) -> dict | None:
    """A cocktail-view batch with ``negative``/``negative_valid``: the next sample's frame is the negative."""
    if len(batch["key"]) < 2:
        return None
    batch["negative"], batch["negative_valid"] = rolled_negatives(list(batch["key"]))
    return batch


class SizedBatches(Epoch):
    """An :class:`Epoch` over ``loader`` with ``transform`` applied (``None`` results dropped), a ``len()`` and the
    ``skipped`` count of the loader's view.

    The trainer needs ``len()`` for the progress bar and the schedule; dropped batches only shorten an epoch.
    """

    def __init__(self, loader: Iterable[dict], length: int | None, transform: Callable[[dict], dict | None]):
        super().__init__(loader, length, [loader])
        self.loader, self.transform = loader, transform

    def __iter__(self) -> Iterator[dict]:
        for batch in self.loader:
            out = self.transform(batch)
            if out is not None:
                yield out


def localization_batches(
    location,
    split: str,
    params,
    batch_size: int,
    epoch: int,
    world_size: int,
    keep,
    *,
    window_s: float | None = None,
    windows_per_clip: int | None = None,
    with_logmel: bool = True,
) -> SizedBatches:
    """One epoch of the localization view of the shard set at ``location``: batches passed through ``keep``
    (``batch -> batch | None``), sized for the progress bar (DSOL's solo clips, MSSL's training clips).
    ``params`` is the whole :class:`avsep.config.Params` (its ``shards`` and ``seed``); ``window_s`` and
    ``windows_per_clip`` replace the view's (:func:`with_window`), ``with_logmel=False`` skips the stored log-mel."""
    shards = with_window(params.shards, window_s, windows_per_clip)
    view = localization_view(
        str(location), split, shards, batch_size=batch_size, seed=params.seed, with_logmel=with_logmel
    )
    loader = make_loader(view, shards, ranks=world_size)
    view.set_epoch(epoch)
    return SizedBatches(loader, view.batches_per_epoch, keep)


def cocktail_batches(
    location,
    split: str,
    params,
    batch_size: int,
    epoch: int,
    world_size: int,
    keep=with_rolled_negatives,
    *,
    with_logmel: bool = True,
) -> SizedBatches:
    """One epoch of the cocktail view of the shard set at ``location``, batches passed through ``keep``
    (DSOL's stage two: :func:`with_rolled_negatives`); ``with_logmel=False`` skips the stored log-mel."""
    view = cocktail_view(
        str(location), split, params.shards, batch_size=batch_size, seed=params.seed, with_logmel=with_logmel
    )
    loader = make_loader(view, params.shards, ranks=world_size)
    view.set_epoch(epoch)
    return SizedBatches(loader, view.batches_per_epoch, keep)


def _interleave(loaders):
    """Batches of each loader in turn (mixtures stay within a set: solo+solo, duet+duet)."""
    for group in zip_longest(*loaders):
        yield from (batch for batch in group if batch is not None)


class InterleavedBatches:
    """``loader(epoch, rank, world_size)`` of the trainer: one view (``make_view``, by default
    :func:`avsep.shards.separation_view`) of every shard set in ``locations``, their batches taken in turn.
    The views are opened on the first call, so building a recipe (e.g. to name its stages) reads no shards.

    ``repeats`` and ``block``: the loaded batches are taken ``block`` at a time and each block is yielded
    ``repeats`` times over (b1 … bK, b1 … bK, …): a model that draws new random crops at every use gets several
    different training steps from one read of the shards, two uses of a batch ``block`` steps apart."""

    def __init__(
        self,
        locations: list[str | Path],
        split: str,
        params: ShardParams,
        batch_size: int,
        seed: int,
        repeats: int = 1,
        block: int = 1,
        make_view: Callable = separation_view,
    ):
        self.locations, self.split, self.shards = [str(location) for location in locations], split, params
        self.batch_size, self.seed, self.make_view = batch_size, seed, make_view
        self.repeats, self.block = repeats, block
        self.views: list = []
        self.loaders: list = []

    def _open(self) -> None:
        self.views = [
            self.make_view(location, self.split, self.shards, batch_size=self.batch_size, seed=self.seed)
            for location in self.locations
        ]
        self.loaders = [make_loader(view, self.shards) for view in self.views]

    def __len__(self) -> int:
        return self.repeats * sum(view.batches_per_epoch or 0 for view in self.views)

    @property
    def skipped(self) -> int:
        """Corrupt samples / shards skipped so far by every view (the trainer logs it per epoch)."""
        return sum(view.skipped for view in self.views)

    def __call__(self, epoch: int, rank: int, world_size: int):
        if not self.views:
            self._open()
        for view in self.views:
            view.set_epoch(epoch)
        return self  # not the DataLoader itself, even alone: it has no len(), and the epoch's length is needed

    def __iter__(self):
        batches = _interleave(self.loaders)
        size = self.block if self.repeats > 1 else 1  # without repeats, nothing needs holding
        while block := list(islice(batches, size)):
            for _ in range(self.repeats):
                yield from block

    def close(self) -> None:
        """Stop the loaders' persistent workers (the trainer calls it when the stage ends)."""
        for loader in self.loaders:
            close_loader(loader)
