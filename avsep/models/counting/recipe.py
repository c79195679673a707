"""Training the counter: augmentation (mosaics, zoom, flips), the Poisson loss of every member, the shard
one stage (see :mod:`avsep.models.counting`)."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from avsep.config.counting import CountingAugment
from avsep.config.train import OptimizerParams, ScheduleParams
from avsep.losses.cavl import poisson_count_loss
from avsep.models.common.backbones import initialised, weights_sections
from avsep.models.common.profile import epochs_for, per_profile, steps_for
from avsep.models.counting.network import Counter, build
from avsep.models.counting.predict import counter_shards, counts_of, decide
from avsep.shards.batching import BalancedBatches, MemoryBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage, unwrap

PARAMS_SECTIONS = ("counting", "features", "shards", "profile", "profiles", "pretrain")
FIELDS = {"motion": "motion", "audio": "audio", "frame": "visual"}  # a batch's field -> the stream reading it


def _place(canvas: torch.Tensor, src: torch.Tensor, side: int, top: int, left: int, paste: bool = False) -> None:
    """Shrink ``src`` (C, S, S) to ``side`` and max it into ``canvas`` (C, S, S) at (top, left), clipped inside
    (``paste``: overwrite instead, for frames, whose pixels do not add up as motion does)."""
    size = canvas.shape[-1]
    side = max(4, min(side, size))
    top, left = min(max(top, 0), size - side), min(max(left, 0), size - side)
    small = F.interpolate(src[None], size=(side, side), mode="area")[0]
    region = canvas[:, top : top + side, left : left + side]
    if paste:
        region.copy_(small)
    else:
        torch.maximum(region, small, out=region)


def augment(
    motion: torch.Tensor | None,
    waves: torch.Tensor | None,
    counts: torch.Tensor,
    cfg: CountingAugment,
    generator: torch.Generator | None = None,
    pool: tuple | None = None,
    frames: torch.Tensor | None = None,
):
    """Training augmentation of one batch (see the module docstring): ``(motion, waves, counts, frames)`` →
    new ones.

    ``motion`` (B, 1, S, S) or None, ``waves`` (B, N) or None, ``counts`` (B,) float, ``frames`` (B, 3, S, S)
    or None. A mosaic of k ∈ 1..4 cells takes a random clip per cell, from ``pool`` (``(motion, waves,
    counts, frames)`` of other clips, shaped as the batch's; ``frames`` may be left off) or else from the batch
    itself, shrinks its motion map and its frame by ``mosaic_scale`` into the cell (jittered by up to 1/16 of
    the side), adds its waveform at a random gain of ±``gain_db`` and its count; a clip that would take the
    count past ``max_mosaic_count`` is skipped. Zooms and flips move the motion map and the frame together.
    Random draws come from ``generator`` (the global torch RNG when None, which the trainer seeds and
    restores on resume); a batch without frames draws exactly what it drew before frames were augmented."""
    rand = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
    randint = lambda high: int(torch.randint(high, (1,), generator=generator))  # noqa: E731
    batch, (low, high) = len(counts), cfg.mosaic_scale
    new_motion = motion.clone() if motion is not None else None
    new_waves = waves.clone() if waves is not None else None
    new_frames = frames.clone() if frames is not None else None
    new_counts = counts.clone()
    spatial = motion if motion is not None else frames  # placements are drawn once for both
    size = spatial.shape[-1] if spatial is not None else 0
    if pool is None:
        pool = (motion, waves, counts, frames)
    cell_motion, cell_waves, cell_counts = pool[:3]
    cell_frames = pool[3] if len(pool) > 3 else None
    if frames is not None and cell_frames is None:
        raise ValueError("augment: the batch has frames but the mosaic pool has none")
    for i in range(batch):
        if float(rand(1)) < cfg.mosaic:
            cells = torch.randperm(4, generator=generator)[: 1 + randint(4)].tolist()
            total, canvas = 0.0, None if motion is None else torch.zeros_like(motion[i])
            frame = None if frames is None else torch.zeros_like(frames[i])
            wave = None if waves is None else torch.zeros_like(waves[i])
            for cell in cells:
                j = randint(len(cell_counts))
                if total + float(cell_counts[j]) > cfg.max_mosaic_count:
                    continue
                total += float(cell_counts[j])
                if spatial is not None:
                    side = round(size * (low + (high - low) * float(rand(1))))
                    jitter = ((rand(2) * 2 - 1) * size / 16).round().int().tolist()
                    row, col = divmod(cell, 2)
                    top, left = row * size // 2 + jitter[0], col * size // 2 + jitter[1]
                    if canvas is not None:
                        _place(canvas, cell_motion[j], side, top, left)
                    if frame is not None and cell_frames is not None:
                        _place(frame, cell_frames[j], side, top, left, paste=True)
                gain = 10 ** ((float(rand(1)) * 2 - 1) * cfg.gain_db / 20)  # drawn either way: same draws
                if wave is not None:
                    wave += cell_waves[j] * gain
            if total > 0:
                new_counts[i] = total
                if canvas is not None and new_motion is not None:  # both None or neither: they follow motion
                    new_motion[i] = canvas
                if frame is not None and new_frames is not None:  # likewise with frames
                    new_frames[i] = frame
                if wave is not None and new_waves is not None:  # and with waves
                    new_waves[i] = wave
        elif spatial is not None and float(rand(1)) < 0.5 and cfg.zoom_min < 1:
            side = round(size * (cfg.zoom_min + (1 - cfg.zoom_min) * float(rand(1))))
            top, left = randint(size - side + 1), randint(size - side + 1)
            if motion is not None and new_motion is not None:
                new_motion[i] = torch.zeros_like(motion[i])
                _place(new_motion[i], motion[i], side, top, left)
            if frames is not None and new_frames is not None:
                new_frames[i] = torch.zeros_like(frames[i])
                _place(new_frames[i], frames[i], side, top, left, paste=True)
        if spatial is not None and cfg.flip and float(rand(1)) < 0.5:
            if new_motion is not None:
                new_motion[i] = new_motion[i].flip(-1)
            if new_frames is not None:
                new_frames[i] = new_frames[i].flip(-1)
    return new_motion, new_waves, new_counts, new_frames


def counting_loss(
    model, batch: dict, decision: str, max_count: int, augmentation: CountingAugment | None = None
) -> dict:
    """Poisson regression loss of every member on the (augmented, when training) batch, averaged over the
    members (each learns alone: a member's gradient is its own loss's over the member count); logs ``acc``
    (exact count of the averaged log-rate after the decision rule) and ``mae``."""
    net = unwrap(model)  # DDP wraps the counter: its helpers live on the module
    if not isinstance(net, Counter):
        raise TypeError(f"counting_loss: model must be a Counter (or one wrapped in DDP), got {type(net).__name__}")
    motion, frames = net.motion_input(batch.get("motion")), net.frame_input(batch.get("frame"))
    waves = batch["audio"] if "audio" in net.streams else None  # a counter without audio mixes no sound
    first = next((x for x in (motion, waves, frames) if x is not None), None)
    if first is None:
        raise ValueError(f"counting_loss: the counter has no motion, audio or visual stream ({net.streams})")
    target = counts_of(batch, first.device)
    if model.training and augmentation is not None:
        spares = batch.get("spares")  # MemoryBatches' clips of the whole set, for the mosaics' cells
        pool = (
            None
            if spares is None
            else (
                net.motion_input(spares.get("motion")),
                spares.get("audio"),
                counts_of(spares, target.device),
                net.frame_input(spares.get("frame")),
            )
        )
        motion, waves, target, frames = augment(motion, waves, target, augmentation, pool=pool, frames=frames)
    member_rates = model(motion, net.logmel(waves), frames, per_member=True)  # through DDP: gradients sync
    predicted = decide(member_rates.detach().mean(1), decision, max_count)
    loss = poisson_count_loss(member_rates, target[:, None].expand_as(member_rates))
    return {"loss": loss, "acc": (predicted == target).float().mean(), "mae": (predicted - target).abs().mean()}


def recipe(params, data_root: Path) -> Recipe:
    """One stage on ``DATA/shards/{counting.train_sets}`` (an equal share of each in every batch) with whole
    windows of ``counting.window_s`` seconds, read once and held in memory (``counting.memory``) or streamed;
    Adam, a linear warm-up over ``counting.warmup_frac`` of the steps, then a cosine decay. Batches are augmented
    where the active profile's ``counting.augment.apply`` says so."""
    cfg, profile = params.counting, params.active_profile()
    sets: list[str | Path] = [set_location(params.shards.root, data_root, name) for name in cfg.train_sets]
    augmentation = cfg.augment if cfg.augment.apply.get(params.profile) else None
    batches: MemoryBatches | BalancedBatches
    if cfg.memory:
        streams = cfg.streams.get(params.profile)
        keep = tuple(name for name, stream in FIELDS.items() if stream in streams)
        spares = cfg.augment.pool if augmentation is not None and cfg.augment.mosaic > 0 else 0
        batches = MemoryBatches(
            sets, "train", counter_shards(params), profile.batch_size, params.seed, keep, spares=spares
        )
    else:
        batches = BalancedBatches(
            sets, "train", counter_shards(params), profile.batch_size, params.seed, with_logmel=False
        )  # the counter computes the log-mel of its (mixed) waves
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    epochs, steps = epochs_for(cfg.epochs, params), steps_for(batches, params)
    schedule = ScheduleParams(name="cosine", warmup_steps=math.floor(cfg.warmup_frac * epochs * steps))
    loss = partial(counting_loss, decision=cfg.decision, max_count=cfg.max_count, augmentation=augmentation)
    stage = Stage(
        "train",
        batches,
        loss,
        epochs,
        model=initialised(partial(build, params), "counting", params, data_root),
        steps_per_epoch=steps,
        optimizer=optimizer,
        schedule=schedule,
    )
    return Recipe("counting", [stage], params_sections=PARAMS_SECTIONS + weights_sections(params, "counting"))
