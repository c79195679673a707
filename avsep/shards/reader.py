"""Reading shard sets: shard lists, splitting, shuffling; the pipeline stages are ``webdataset``'s, the tar
reading is :mod:`avsep.shards.tario` (lean: a member costs a header parse and a read).

A shard set is a folder (local path or any fsspec URL: ``s3://``, ``gs://``, ``http://``) holding
``{split}-{index:06d}.tar`` and ``sizes.json``. ``sizes.json`` is the list of shards (files not in it are
ignored, e.g. leftovers of a longer earlier build) and gives the epoch length.

Three ways to walk the shards (``mode``):

- ``"train"``: every epoch the shard list is shuffled with ``seed + epoch``, split by rank (node) and then
  by DataLoader worker, and samples are shuffled in a buffer seeded by ``(seed, epoch, rank, worker)``;
- ``"resampled"``: each (rank, worker) draws shards with replacement from ``(seed, epoch, rank, worker)``,
  forever; the view cuts an epoch at the length ``sizes.json`` implies (ranks never run out unevenly in DDP);
- ``"eval"``: shards in order, split by rank then worker, no shuffling: every sample exactly once.

Split modes need at least ``workers x ranks`` shards, else :class:`ShardCountError` (from
:func:`avsep.shards.views.make_loader` and, in train mode, from each reader; an eval-mode reader left
without a shard reads nothing).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

import fsspec
import webdataset as wds
from webdataset.utils import make_seed, pytorch_worker_info

from avsep.shards import tario
from avsep.shards.remote import is_url, open_remote
from avsep.shards.skips import SkipCounter
from avsep.shards.writer import SIZES_FILE

log = logging.getLogger("avsep.shards")

Mode = Literal["train", "resampled", "eval"]
MODES = ("train", "resampled", "eval")


class ShardSetError(ValueError):
    """A shard set cannot be read (no sizes.json, no shard of the split); the message names the location."""


class ShardCountError(ValueError):
    """Fewer shards than readers (DataLoader workers x ranks): some readers would get no data."""


@dataclass(frozen=True)
class ShardSet:
    """The shards of one split: ``urls[i]`` holds ``sizes[i]`` samples; ``offsets[i]`` samples precede it."""

    location: str
    split: str
    urls: tuple[str, ...]
    sizes: tuple[int, ...]

    @classmethod
    def open(cls, location: str, split: str) -> ShardSet:
        """Read ``location/sizes.json`` and keep the shards named ``{split}-*.tar``, in name order."""
        location = str(location).rstrip("/")
        sizes_url = f"{location}/{SIZES_FILE}"
        try:
            with fsspec.open(sizes_url, "rt", encoding="utf-8") as fh:
                table = json.load(fh)
        except FileNotFoundError:
            raise ShardSetError(f"{sizes_url}: not found; is {location} a shard folder written by avsep?") from None
        except json.JSONDecodeError as exc:
            raise ShardSetError(f"{sizes_url}: not valid JSON: {exc}") from None
        names = sorted(name for name in table if name.startswith(f"{split}-") and name.endswith(".tar"))
        if not names:
            raise ShardSetError(f"{sizes_url}: no shard of split {split!r} (found: {sorted(table)[:5]})")
        return cls(location, split, tuple(f"{location}/{n}" for n in names), tuple(int(table[n]) for n in names))

    @property
    def total(self) -> int:
        return sum(self.sizes)

    @property
    def offsets(self) -> tuple[int, ...]:
        out, acc = [], 0
        for size in self.sizes:
            out.append(acc)
            acc += size
        return tuple(out)

    def check_readers(self, readers: int, what: str) -> None:
        """Raise :class:`ShardCountError` when ``readers`` (workers x ranks, as ``what`` says) exceed the shards."""
        if len(self.urls) < readers:
            raise ShardCountError(
                f"{self.location}: split {self.split!r} has {len(self.urls)} shard(s) but {what} = {readers} "
                f"readers; each reader needs at least one shard. Write smaller shards (shards.max_samples) "
                f"or use fewer DataLoader workers (shards.workers)."
            )


class SharedEpoch:
    """The current epoch, shared with DataLoader workers (persistent or not) so that every shuffle reseeds
    with ``seed + epoch``. Create it with the DataLoader's start method."""

    def __init__(self, epoch: int = 0, start_method: str = "forkserver"):
        self._epoch = multiprocessing.get_context(start_method).Value("i", epoch)

    def set(self, epoch: int) -> None:
        self._epoch.value = epoch

    def get(self) -> int:
        return int(self._epoch.value)


def _reader_seed(seed: int, epoch: int) -> int:
    rank, _, worker, _ = pytorch_worker_info()
    return make_seed(seed, epoch, rank, worker)


class ShardStream(wds.PipelineStage):
    """First pipeline stage: yields ``{"url": ...}`` for this rank and worker, per ``mode`` (module docstring)."""

    def __init__(self, shards: ShardSet, mode: Mode, seed: int, epoch: SharedEpoch):
        if mode not in MODES:
            raise ValueError(f"shard mode {mode!r}: expected one of {MODES}")
        self.shards, self.mode, self.seed, self.epoch = shards, mode, seed, epoch

    def run(self) -> Iterator[dict]:
        rank, world, worker, workers = pytorch_worker_info()
        urls = list(self.shards.urls)
        epoch = self.epoch.get()
        if self.mode == "resampled":
            rng = random.Random(_reader_seed(self.seed, epoch))
            while True:
                yield {"url": rng.choice(urls), "epoch": epoch}
        if self.mode == "train":
            # Training ranks must all have batches (DDP steps together); an eval reader without a shard just
            # reads nothing, and the slices below still hold every shard once (a small set over many ranks).
            self.shards.check_readers(world * workers, f"{workers} worker(s) x {world} rank(s)")
            random.Random(self.seed + epoch).shuffle(urls)  # same order on every rank and worker
        for url in urls[rank::world][worker::workers]:
            yield {"url": url, "epoch": epoch}


_LOCAL_BUFFER = 1 << 20  # bytes read ahead from a local shard: few system calls, members are small


def open_shard(url: str) -> BinaryIO:
    """A binary stream of one shard: a plain buffered file for local paths (``file://`` too), else one
    sequential fsspec read (:func:`avsep.shards.remote.open_remote`)."""
    if url.startswith("file://"):
        url = url[len("file://") :]
    if not is_url(url):
        return open(url, "rb", buffering=_LOCAL_BUFFER)
    return open_remote(url)


def tar_samples(
    src: Iterable[dict], handler: Callable[[BaseException], bool], skip: Callable[[str], bool] | None = None
) -> Iterator[dict]:
    """``{"url"}`` items -> samples ``{"__key__", "__url__", member name: bytes}`` of each shard in turn
    (:func:`avsep.shards.tario.tar_samples`); members with ``skip(member)`` true are not read. A shard that
    cannot be opened, a truncated shard and a malformed sample go to ``handler`` (logged, counted, skipped)."""
    for item in src:
        url = item["url"]
        if log.isEnabledFor(logging.DEBUG):  # which reader reads what: multi-node runs check shards are not shared
            rank, world, worker, workers = pytorch_worker_info()
            log.debug(
                "reading %s (epoch %s, rank %d of %d, worker %d of %d)",
                url,
                item.get("epoch"),
                rank,
                world,
                worker,
                workers,
            )
        try:
            stream = open_shard(url)
        except Exception as exn:  # any open failure is a skippable data error
            exn.args = exn.args + (url,)
            if handler(exn):
                continue
            raise
        with stream:
            try:
                yield from tario.tar_samples(stream, url, handler, skip)
            except OSError as exn:
                # A remote shard read block by block can vanish or its connection drop after it opened: the
                # rest of that shard is lost, like a truncated one, and the other shards are still read.
                exn.args = exn.args + (f"{url}: read failed after the shard was opened",)
                if not handler(exn):
                    raise


class EpochShuffle(wds.PipelineStage):
    """Buffered sample shuffle seeded by ``(seed, epoch, rank, worker)``: reproducible for a fixed layout.
    Holds up to ``bufsize`` samples; a larger buffer mixes more shards at the cost of memory."""

    def __init__(self, bufsize: int, seed: int, epoch: SharedEpoch):
        self.bufsize, self.seed, self.epoch = bufsize, seed, epoch

    def run(self, src: Iterable[dict]) -> Iterator[dict]:
        rng = random.Random(_reader_seed(self.seed, self.epoch.get()))
        buf: list = []
        for sample in src:
            buf.append(sample)
            if len(buf) > self.bufsize:
                k = rng.randrange(len(buf))
                buf[k], buf[-1] = buf[-1], buf[k]
                yield buf.pop()
        rng.shuffle(buf)
        yield from buf


def sample_stream(
    shards: ShardSet,
    mode: Mode,
    seed: int,
    epoch: SharedEpoch,
    skips: SkipCounter,
    skip_members: frozenset[str] = frozenset(),
) -> list:
    """The stages from shard list to raw samples (dicts of member bytes) for this rank and worker, in shard
    order; members named in ``skip_members`` (e.g. ``{"logmel.npy"}``) are left unread. Shuffling is the
    caller's (:class:`EpochShuffle`), so a view can shuffle raw samples or the windows it cuts from them."""
    skip = skip_members.__contains__ if skip_members else None
    return [ShardStream(shards, mode, seed, epoch), wds.pipelinefilter(tar_samples)(handler=skips, skip=skip)]


def batches_per_worker(total: int, batch_size: int, world_size: int, workers: int) -> int:
    """Batches each (rank, worker) yields so that one epoch covers about ``total`` samples over all ranks."""
    batches = math.ceil(total / (batch_size * world_size))
    return math.ceil(batches / max(workers, 1))
