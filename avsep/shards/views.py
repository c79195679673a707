"""Model-ready views of a shard set: pipelines from shards to batches, and the DataLoader that runs them.

Usage (one rank; ``torchrun`` ranks are found from the environment)::

    view = localization_view("data/shards/clips", "train", params.shards, batch_size=32, seed=params.seed)
    loader = make_loader(view, params.shards)
    for epoch in range(epochs):
        view.set_epoch(epoch)
        for batch in tqdm(loader, total=view.batches_per_epoch):
            ...  # batch["frame"]: (B, 3, H, W) uint8, batch["audio"]: (B, S) float32
        log(skipped=view.skipped)

Views: :func:`localization_view`, :func:`separation_view` (N-mix built on the fly),
:func:`cocktail_view`, :func:`nmix_view` (stored N-mix sets) and :func:`evaluation_view` (any of them in
``"eval"`` mode: every sample exactly once, with its ``index`` in the split so gathered results can be put
in the split's fixed order whatever the number of workers and ranks).

With ``shards.decode_device`` set, the training views ship their JPEG frames (and the localization and
cocktail views their PCM) encoded: ``batch["frame"]`` is then a list of :mod:`avsep.train.encoded` items,
which :func:`avsep.train.to_device` decodes on the step's device into the tensors above (docs/shards.md).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial

import numpy as np
import torch
import webdataset as wds
from torch.utils.data import DataLoader

from avsep.config.shards import ShardParams
from avsep.shards import samples as S
from avsep.shards.reader import (
    EpochShuffle,
    Mode,
    ShardSet,
    SharedEpoch,
    _reader_seed,
    batches_per_worker,
    sample_stream,
)
from avsep.shards.skips import SkipCounter
from avsep.shards.windows import CocktailSample, LocalizationWindows, NMixSample, SeparationWindow, decode_window

EVAL_VIEWS = ("localization", "annotated", "separation", "cocktail", "nmix")
# VGG-SS boxes were drawn on the frame at 5 s of each 10 s clip (the 125th of 25 fps); a SoundNet-Flickr pair
# stores its one annotated frame. The "annotated" view scores that frame, with audio centred on it.
ANNOTATED_FRAME_AT = 0.5


def collate(samples: list[dict]) -> dict:
    """Stack tensor fields into ``(B, ...)``; every other field becomes a list of length B.

    Stacked with NumPy: ``torch.stack`` of these small CPU tensors runs on torch's intra-op threads in the
    main process (``workers=0``), and on a busy machine their hand-offs cost up to 100x the copy itself.
    Batches are C-contiguous: torchvision's JPEG decoder gives channels-last strides, ``np.stack`` keeps them, and
    torch 2.11's single-threaded CPU convolutions corrupt the heap on such input (segfault / "corrupted
    double-linked list" in a ResNet-18 forward+backward with one intra-op thread)."""
    return {
        name: torch.from_numpy(np.ascontiguousarray(np.stack([s[name].numpy() for s in samples])))
        if isinstance(samples[0][name], torch.Tensor)
        else [s[name] for s in samples]
        for name in samples[0]
    }


def batch_sample_rate(batch: dict) -> int:
    """The one sample rate (Hz) of a batch's audio, from its samples' ``"sample_rate"`` (what the shards store);
    ValueError naming the keys when the batch has none or mixes rates."""
    rates = batch.get("sample_rate")
    if not rates:
        raise ValueError(f"batch of {batch.get('key', '?')}: carries no 'sample_rate' (not from a shard view?)")
    if len(set(rates)) != 1:
        raise ValueError(f"batch of {batch.get('key', '?')}: mixes sample rates {sorted(set(rates))}")
    return int(rates[0])


class IndexSamples(wds.PipelineStage):
    """Eval mode: tag each raw sample with ``__index__`` = shard offset + position in its shard."""

    def __init__(self, shards: ShardSet):
        self.offsets = dict(zip(shards.urls, shards.offsets))

    def run(self, src: Iterable[dict]) -> Iterator[dict]:
        url, offset, position = None, 0, 0
        for sample in src:
            if sample["__url__"] != url:
                url, position = sample["__url__"], 0
                offset = self.offsets[url]
            yield {**sample, "__index__": offset + position}
            position += 1


class KeepIndex:
    """Wrap a transform so that a raw sample's ``__index__`` reaches its output as ``index``."""

    def __init__(self, transform: Callable[[dict], dict]):
        self.transform = transform

    def __call__(self, sample: dict) -> dict:
        out = self.transform(sample)
        if "__index__" in sample:
            out["index"] = sample["__index__"]
        return out


class Flatten(wds.PipelineStage):
    """Lists -> their items (the windows a clip was cut into)."""

    def run(self, src: Iterable[list]) -> Iterator:
        for items in src:
            yield from items


class AddNegatives:
    """Batch -> batch with ``negative: (B,) long``: for row i, a row of another clip (its frame is i's negative);
    -1 when every row of the batch is the same clip."""

    def __init__(self, seed: int, epoch: SharedEpoch):
        self.seed, self.epoch = seed, epoch

    def __call__(self, batch: dict) -> dict:
        keys = batch["key"]
        rng = S.key_rng(self.seed, self.epoch.get(), "|".join(keys))
        negative = []
        for key in keys:
            others = [j for j, other in enumerate(keys) if other != key]
            negative.append(int(others[rng.integers(len(others))]) if others else -1)
        return {**batch, "negative": torch.tensor(negative, dtype=torch.long)}


class MixOnTheFly(wds.PipelineStage):
    """Separation training: group ``n_mix`` consecutive (shuffled) windows of different clips into a mixture.

    Each component is its window times a gain ~ U(gain_min, gain_max), divided by N (Sound of Pixels' mixing),
    so ``mix == sources.sum(0)``. Yields ``{"keys", "labels", "mix": (S,), "sources": (N, S),
    "frames": (N, F, 3, H, W) uint8, "gains": (N,)}``.
    """

    def __init__(self, n_mix: int, gain_min: float, gain_max: float, seed: int, epoch: SharedEpoch):
        self.n_mix, self.gain_min, self.gain_max, self.seed, self.epoch = n_mix, gain_min, gain_max, seed, epoch

    def run(self, src: Iterable[dict]) -> Iterator[dict]:
        rng = random.Random(_reader_seed(self.seed, self.epoch.get()))
        group: list[dict] = []
        for window in src:
            if any(window["key"] == other["key"] for other in group):
                continue  # a clip mixed with itself has no separation target
            group.append(window)
            if len(group) < self.n_mix:
                continue
            gains = torch.tensor([rng.uniform(self.gain_min, self.gain_max) for _ in group])
            sources = torch.stack([w["audio"] for w in group]) * (gains / self.n_mix)[:, None]
            yield {
                "keys": [w["key"] for w in group],
                "labels": [w["labels"] for w in group],
                "mix": sources.sum(0),
                "sources": sources,
                "frames": _stacked_frames([w["frames"] for w in group]),
                "gains": gains,
            }
            group = []


def _stacked_frames(frames: list):
    """The components' frames of one mixture: ``(N, F, 3, H, W) uint8``, or still encoded for the training
    step (``shards.decode_device``)."""
    if isinstance(frames[0], torch.Tensor):
        return torch.stack(frames)
    return type(frames[0]).stacked(frames)


def step_decode_device(params: ShardParams, mode: Mode) -> str | None:
    """Where a view's JPEG frames and PCM are decoded when not in the loader workers: ``shards.decode_device``
    for the training modes; evaluation views always decode in the workers (their runners read frames on the CPU)."""
    return None if mode == "eval" else params.decode_device


class ShardView(wds.DataPipeline):
    """A webdataset pipeline that yields batches (dicts, see :func:`collate`), with its shard set, epoch and
    skip counter. ``skipped`` is the number of corrupt samples / unreadable shards skipped so far, all workers."""

    def __init__(
        self,
        shards: ShardSet,
        mode: Mode,
        batch_size: int,
        epoch: SharedEpoch,
        skips: SkipCounter,
        stages: list,
        per_clip: int = 1,
    ):
        super().__init__(*stages)
        self.shards, self.mode, self.batch_size, self.epoch, self.skips = shards, mode, batch_size, epoch, skips
        self.batches_per_epoch: int | None = None
        # Samples in one epoch: each clip of sizes.json gives per_clip samples (localization windows).
        self.samples_per_epoch = shards.total * per_clip

    def set_epoch(self, epoch: int) -> None:
        self.epoch.set(epoch)

    @property
    def skipped(self) -> int:
        return self.skips.value


def _mode(params: ShardParams, mode: Mode | None) -> Mode:
    return mode or ("resampled" if params.resampled else "train")


def _build(
    location: str,
    split: str,
    params: ShardParams,
    transform,
    batch_size: int,
    seed: int,
    mode: Mode | None,
    epoch: SharedEpoch,
    after_map: list | None = None,
    after_batch: list | None = None,
    cut: LocalizationWindows | None = None,
    skip_members: frozenset[str] = frozenset(),
) -> ShardView:
    """Shards -> raw samples -> (shuffle) -> ``transform`` -> batches. With ``cut``, each raw sample is cut
    into ``cut.windows_per_clip`` window records first, the records are shuffled (so a batch mixes clips) and
    ``transform`` decodes them: a clip is read once for all its windows."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    mode = _mode(params, mode)
    shards = ShardSet.open(location, split)
    skips = SkipCounter(params.start_method)
    stages = sample_stream(shards, mode, seed, epoch, skips, skip_members)
    if mode == "eval":
        stages.append(IndexSamples(shards))
    if cut is not None:
        stages += [wds.map(cut, handler=skips), Flatten()]
    if mode != "eval" and params.shuffle_buffer > 1:
        stages.append(EpochShuffle(params.shuffle_buffer, seed, epoch))
    stages.append(wds.map(transform if cut is not None else KeepIndex(transform), handler=skips))
    stages += after_map or []
    stages.append(wds.batched(batch_size, collation_fn=collate, partial=mode == "eval"))
    stages += after_batch or []
    return ShardView(
        shards, mode, batch_size, epoch, skips, stages, per_clip=cut.windows_per_clip if cut is not None else 1
    )


def localization_view(
    location: str,
    split: str,
    params: ShardParams,
    *,
    batch_size: int,
    seed: int,
    mode: Mode | None = None,
    with_logmel: bool = True,
    frame_at: float | None = None,
) -> ShardView:
    """Batches ``{"key", "labels", "start_s", "frame": (B, 3, H, W) uint8, "audio": (B, S) float32,
    "logmel": (B, 1, T, F) float32, "negative": (B,) long, "frame_index", "n_sources", "objects", "scene",
    "sample_rate" (B ints: :func:`batch_sample_rate`)}``: a random
    ``window_s`` window (1 s) and a frame of the same window; ``frame[negative]`` are other clips' frames of the
    batch (the negatives). Training modes cut ``params.localization.windows_per_clip`` distinct windows from
    each read of a clip (an epoch is then ``clips x windows_per_clip`` samples), ``eval`` one; ``objects[i]``
    is frame i's ground truth (class, sounding, box in frame pixels; see
    :func:`avsep.shards.windows.frame_objects`), empty where the shards have none. With
    ``params.localization.motion``, also ``"motion": (B, 1, H, W) float32``, the window's motion map
    (:func:`avsep.shards.windows.motion_of`). With ``frame_at``, each clip gives the one window around its stored
    frame nearest that fraction of the clip, and batches carry ``"source_key"`` (B strings)
    (:class:`avsep.shards.windows.LocalizationWindows`)."""
    epoch, mode = SharedEpoch(0, params.start_method), _mode(params, mode)
    loc = params.localization
    decode_device = step_decode_device(params, mode)
    # Training reads a clip once and takes windows_per_clip windows from it; evaluation takes one per clip.
    cut = LocalizationWindows(
        loc.window_s,
        with_logmel,
        seed,
        epoch,
        1 if mode == "eval" or frame_at is not None else loc.windows_per_clip,
        motion=loc.motion,
        motion_cache=loc.motion_cache,
        frame_at=frame_at,
    )
    return _build(
        location,
        split,
        params,
        decode_window if decode_device is None else partial(decode_window, decode_device=decode_device),
        batch_size,
        seed,
        mode,
        epoch,
        after_batch=[wds.map(AddNegatives(seed, epoch))],
        cut=cut,
        skip_members=frozenset() if with_logmel else frozenset({"logmel.npy"}),
    )


def separation_view(
    location: str, split: str, params: ShardParams, *, batch_size: int, seed: int, mode: Mode | None = None
) -> ShardView:
    """Batches ``{"keys", "labels", "mix": (B, S), "sources": (B, N, S), "frames": (B, N, F, 3, H, W) uint8,
    "gains": (B, N)}``: N-mixes of Sound-of-Pixels windows built on the fly (params.separation)."""
    sep = params.separation
    if sep.gain_min > sep.gain_max:
        raise ValueError(f"shards.separation: gain_min {sep.gain_min} > gain_max {sep.gain_max}")
    epoch = SharedEpoch(0, params.start_method)
    decode_device = step_decode_device(params, _mode(params, mode))
    window = SeparationWindow(
        sep.sample_rate, sep.window_samples, sep.n_frames, seed, epoch, decode_device=decode_device
    )
    mixer = MixOnTheFly(sep.n_mix, sep.gain_min, sep.gain_max, seed, epoch)
    return _build(location, split, params, window, batch_size, seed, mode, epoch, after_map=[mixer])


def cocktail_view(
    location: str,
    split: str,
    params: ShardParams,
    *,
    batch_size: int,
    seed: int,
    mode: Mode | None = None,
    with_logmel: bool = True,
) -> ShardView:
    """Batches of 2x2 cocktail-party samples: ``{"key", "classes", "frame": (B, 3, H, W) uint8,
    "audio": (B, S), "sample_rate", "sounding": (B, 4) bool, "boxes": (B, 4, 4) float32, "logmel": (B, 1, T, F)}``."""
    epoch = SharedEpoch(0, params.start_method)
    sample = CocktailSample(with_logmel, step_decode_device(params, _mode(params, mode)))
    return _build(location, split, params, sample, batch_size, seed, mode, epoch)


def nmix_view(
    location: str, split: str, params: ShardParams, *, batch_size: int, seed: int = 0, mode: Mode | None = "eval"
) -> ShardView:
    """Batches of stored N-mix samples: ``{"key", "clip_ids", "classes", "mix": (B, S), "sources": (B, N, S),
    "sample_rate" (B ints, the stored rate: :func:`batch_sample_rate`), "frames": (B, N, F, 3, H, W) uint8}``
    (plus ``index`` in eval mode)."""
    epoch = SharedEpoch(0, params.start_method)
    return _build(location, split, params, NMixSample(), batch_size, seed, mode, epoch)


def evaluation_view(
    location: str, split: str, params: ShardParams, *, view: str, batch_size: int, seed: int
) -> ShardView:
    """``view`` (one of :data:`EVAL_VIEWS`) in eval mode: shards in order, split by rank then worker, no
    shuffling or resampling, partial last batches kept; each batch has ``index: list[int]`` (position in the
    split), so results gathered from every worker and rank can be sorted into one fixed order. Windows are
    drawn from ``(seed, key)`` only, so they are the same every run. Separation is evaluated on stored N-mix
    sets (``"nmix"``); ``"separation"`` yields single windows here, without mixing. ``"annotated"`` is the
    localization view at each clip's annotated frame (:data:`ANNOTATED_FRAME_AT`), with ``"source_key"``."""
    if view == "localization":
        return localization_view(location, split, params, batch_size=batch_size, seed=seed, mode="eval")
    if view == "annotated":
        return localization_view(
            location, split, params, batch_size=batch_size, seed=seed, mode="eval", frame_at=ANNOTATED_FRAME_AT
        )
    if view == "cocktail":
        return cocktail_view(location, split, params, batch_size=batch_size, seed=seed, mode="eval")
    if view == "nmix":
        return nmix_view(location, split, params, batch_size=batch_size, seed=seed, mode="eval")
    if view == "separation":
        sep, epoch = params.separation, SharedEpoch(0, params.start_method)
        window = SeparationWindow(sep.sample_rate, sep.window_samples, sep.n_frames, seed, epoch, random_start=False)
        return _build(location, split, params, window, batch_size, seed, "eval", epoch)
    raise ValueError(f"evaluation view {view!r}: expected one of {EVAL_VIEWS}")


def world_size() -> int:
    """Ranks of the current job: torch.distributed if initialised, else ``WORLD_SIZE`` (torchrun), else 1."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def make_loader(
    view: ShardView, params: ShardParams, workers: int | None = None, ranks: int | None = None
) -> DataLoader:
    """A DataLoader running ``view`` in ``workers`` processes (default ``params.workers``) started with
    ``params.start_method`` (forkserver/spawn: safe with torchaudio and threads, unlike fork).

    Training views keep their workers between epochs (``persistent_workers``): starting two workers and
    refilling their shuffle buffers costs seconds per epoch, and the demo's epochs are only 20-30 steps.
    :func:`close_loader` stops them; the trainer does so at the end of each stage (``close()`` of the stage's
    loader factory). The loader draws its workers' base seed from its own generator, not the global one, so
    the training randomness (the model's initialisation, augmentation) does not depend on how many epochs
    started a worker pool: a resumed run draws the same numbers as an uninterrupted one.

    Split modes (``train``, ``eval``) check there are at least workers x ranks shards
    (:class:`~avsep.shards.reader.ShardCountError` otherwise). Resampled views are cut at the epoch length
    ``sizes.json`` implies; ``view.batches_per_epoch`` is set for progress bars (approximate in split modes,
    where each worker may end on a partial batch).
    """
    workers = params.workers if workers is None else workers
    ranks = world_size() if ranks is None else ranks
    if workers > 0 and params.start_method == "forkserver":
        # Workers fork from a server that has already imported torch and the views: starting them is cheap.
        # (No effect once this process's fork server is running.)
        multiprocessing.set_forkserver_preload(["torch", "torchvision.io", "avsep.shards.views"])
    readers = max(workers, 1) * ranks
    per_worker = batches_per_worker(view.samples_per_epoch, view.batch_size, ranks, workers)
    if view.mode == "resampled":
        view.with_epoch(per_worker)
        view.batches_per_epoch = per_worker * max(workers, 1)
    else:
        view.shards.check_readers(readers, f"{max(workers, 1)} worker(s) x {ranks} rank(s)")
        view.batches_per_epoch = -(-view.samples_per_epoch // (view.batch_size * ranks))
    return DataLoader(
        view,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        collate_fn=batch_as_is,  # type: ignore[arg-type]  # the stub wants list input; batch_size=None passes items
        multiprocessing_context=params.start_method if workers > 0 else None,
        persistent_workers=workers > 0 and view.mode != "eval",
        generator=torch.Generator(),
        worker_init_fn=ExitWithOwner(os.getpid()) if workers > 0 else None,
    )


class ExitWithOwner:
    """``worker_init_fn`` of :func:`make_loader`: a daemon thread in each worker ends the worker when the
    process that made the loader (``owner``) ends, however it ends.

    PyTorch's own watchdog checks that the worker's parent is alive, but a forkserver worker's parent is the
    fork server, and the server lives as long as any process holds its pipe: the workers do. A trainer killed
    with SIGKILL (out of memory, a cluster's pre-emption, ``kill -9``) so left its persistent workers and
    their server running for ever, about 1 GB each. Linux's pidfd wakes the thread the moment the owner
    exits, zombie or not; elsewhere it checks the pid once a second."""

    def __init__(self, owner: int):
        self.owner = owner

    def __call__(self, worker_id: int) -> None:
        threading.Thread(target=self._watch, name="avsep-owner-watch", daemon=True).start()

    def _watch(self) -> None:
        try:
            fd = os.pidfd_open(self.owner)
        except (AttributeError, OSError):  # not Linux >= 5.3, or the owner is already gone
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the owner has exited
        else:
            while _alive(self.owner):
                time.sleep(1.0)
        os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's (a reused pid)
        return True
    return True


def close_loader(loader) -> None:
    """Stop the persistent workers of a DataLoader from :func:`make_loader` (no-op without them); a later
    ``iter(loader)`` starts new ones."""
    iterator = getattr(loader, "_iterator", None)  # where DataLoader keeps a persistent pool (torch internals)
    if iterator is not None:
        iterator._shutdown_workers()
        loader._iterator = None


def batch_as_is(batch: dict) -> dict:
    """The views already batch; without this the DataLoader would walk every list of every batch
    (``default_convert``: keys, labels, per-object ground truth) looking for arrays to convert."""
    return batch
