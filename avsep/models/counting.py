"""The audiovisual counter (CAVL): the number of sound sources of a clip by Poisson regression.

Two streams read a whole clip (``counting.window_s``): **motion**, a small CNN on the clip's motion map (the
per-pixel standard deviation of its frames over time: a sounding object moves as it plays, a silent one
stands still), and **audio**, the audio ResNet-18 of the two-stream network on the clip's log-mel. Their
features, mean- and max-pooled, give a rate λ = exp(w·f + b); training minimises the Poisson negative
log-likelihood of the clip's count, prediction rounds λ (or takes the Poisson mode ⌊λ⌋). ``counting.members``
such counters train side by side on the same batches, and the prediction averages their log-rates.
:func:`write_predictions` writes ``clip_id,n_sources`` for the dataset flow (``dataset.predictions`` with
``dataset.count_from: predictions|auto``, read by :mod:`avsep.dataset.curricula`).

Training batches come from memory (``counting.memory``: :class:`~avsep.models.dmc.data.MemoryBatches` reads
the train clips once) or are streamed, and are augmented (``counting.augment``, :func:`augment`): part of each
batch becomes mosaics of other clips (motion maps shrunk into a 2x2 grid, audio summed, counts added), drawn
from the whole training set with in-memory batches and from the batch when streaming; the rest is shrunk and
mirrored at random. Targets are each clip's ``n_sources`` from the shards (the number of distinct labels where
it is unknown).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from avsep.config.counting import CountingAugment
from avsep.config.train import OptimizerParams, ScheduleParams
from avsep.metrics.counting import evaluate_counting
from avsep.features import logmel_torch
from avsep.features.presets import frontend_from_params
from avsep.io import atomic_path
from avsep.losses.cavl import poisson_count_loss
from avsep.models.backbones import ResNet18, initialised
from avsep.models.dmc.data import BalancedBatches, MemoryBatches, with_window
from avsep.models.dmc.recipe import epochs_for, per_profile, steps_for
from avsep.models.dmc.streams import STRIDES
from avsep.shards import evaluation_view, make_loader
from avsep.train import Recipe, Stage, unwrap

PARAMS_SECTIONS = ("counting", "features", "shards", "profile", "profiles", "pretrain")


def motion_input(motion: torch.Tensor, size: int) -> torch.Tensor:
    """A batch of motion maps ``(B, 1, H, W)`` (grey-level std over time, :func:`avsep.shards.windows.motion_of`)
    → ``(B, 1, size, size)``: ``log(1 + std)``, area-resized. The log keeps faint and bright objects on one
    scale."""
    if motion.ndim != 4 or motion.shape[1] != 1:
        raise ValueError(f"motion: expected (B, 1, H, W), got shape {tuple(motion.shape)}")
    out = torch.log1p(motion.float())
    return out if out.shape[-2:] == (size, size) else F.interpolate(out, size=(size, size), mode="area")


class MotionNet(nn.Module):
    """``(B, 1, S, S)`` motion map → ``(B, C, S/32, S/32)``: five stride-2 3x3 convolutions and one more, each
    with GroupNorm and ReLU; C = 4·width (the channels double every second layer)."""

    def __init__(self, width: int):
        super().__init__()
        layers, channels = [], 1
        for i in range(5):
            out = width * 2 ** min(i // 2, 2)
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.GroupNorm(4, out), nn.ReLU(inplace=True)]
            channels = out
        layers += [nn.Conv2d(channels, channels, 3, 1, 1), nn.GroupNorm(4, channels), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.net(motion)


class Counter(nn.Module):
    """``forward(motion (B, 1, S, S) or None, logmel (B, 1, T, F) or None)`` → ``log_rate (B,)``: log of the
    expected number of sound sources, the mean over ``members`` independent counters (:class:`CounterMember`)
    trained side by side on the same batches (``per_member=True``: each member's, ``(B, members)``).
    :meth:`inputs` makes both inputs from a batch's ``motion`` and ``audio``."""

    def __init__(self, width: int, image_size: int, streams: tuple[str, ...], frontend, members: int = 1):
        super().__init__()
        if members < 1:
            raise ValueError(f"Counter: members = {members}, need at least 1")
        self.image_size, self.streams, self.frontend = image_size, tuple(streams), frontend
        self.members = nn.ModuleList(CounterMember(width, self.streams) for _ in range(members))

    def inputs(self, motion: torch.Tensor | None, waves: torch.Tensor | None):
        """The network's ``(motion, log-mel)`` inputs from a batch's ``motion`` maps (B, 1, H, W) and ``waves``
        (B, N), each None for a stream the counter does not have."""
        return self.motion_input(motion), self.logmel(waves)

    def motion_input(self, motion: torch.Tensor | None) -> torch.Tensor | None:
        """:func:`motion_input` at the profile's image size; None without the motion stream."""
        return motion_input(motion, self.image_size) if "motion" in self.streams else None

    def logmel(self, waves: torch.Tensor | None) -> torch.Tensor | None:
        """``(B, 1, T, n_mels)`` log-mel of ``waves`` (B, N) with the features preset; None without audio."""
        return logmel_torch(waves.float(), self.frontend)[:, None] if "audio" in self.streams else None

    def forward(self, motion: torch.Tensor | None, logmel: torch.Tensor | None, per_member: bool = False
                ) -> torch.Tensor:
        rates = torch.stack([member(motion, logmel) for member in self.members], dim=1)
        return rates if per_member else rates.mean(1)


class CounterMember(nn.Module):
    """One counter: ``forward(motion, logmel)`` → ``(B,)`` log-rate, a linear function of the mean- and
    max-pooled features of each stream in ``streams`` (:class:`MotionNet`; the audio ResNet-18)."""

    def __init__(self, width: int, streams: tuple[str, ...]):
        super().__init__()
        self.streams, features = tuple(streams), 0
        if "motion" in self.streams:
            self.motion = MotionNet(width)
            features += 2 * self.motion.out_channels
        if "audio" in self.streams:
            self.audio_norm = nn.BatchNorm2d(1)
            self.audio = ResNet18(1, width, STRIDES)
            features += 2 * self.audio.out_channels
        self.head = nn.Linear(features, 1)

    def forward(self, motion: torch.Tensor | None, logmel: torch.Tensor | None) -> torch.Tensor:
        pooled = []
        if "motion" in self.streams:
            v = self.motion(motion).flatten(2)
            pooled += [v.mean(2), v.amax(2)]
        if "audio" in self.streams:
            a = self.audio(self.audio_norm(logmel)).flatten(2)
            pooled += [a.mean(2), a.amax(2)]
        return self.head(torch.cat(pooled, dim=1))[:, 0]


def _place(canvas: torch.Tensor, src: torch.Tensor, side: int, top: int, left: int) -> None:
    """Shrink ``src`` (1, S, S) to ``side`` and max it into ``canvas`` (1, S, S) at (top, left), clipped inside."""
    size = canvas.shape[-1]
    side = max(4, min(side, size))
    top, left = min(max(top, 0), size - side), min(max(left, 0), size - side)
    small = F.interpolate(src[None], size=(side, side), mode="area")[0]
    region = canvas[:, top:top + side, left:left + side]
    torch.maximum(region, small, out=region)


def augment(motion: torch.Tensor | None, waves: torch.Tensor | None, counts: torch.Tensor, cfg: CountingAugment,
            generator: torch.Generator | None = None, pool: tuple | None = None):
    """Training augmentation of one batch (see the module docstring): ``(motion, waves, counts)`` → new ones.

    ``motion`` (B, 1, S, S) or None, ``waves`` (B, N) or None, ``counts`` (B,) float. A mosaic of k ∈ 1..4
    cells takes a random clip per cell, from ``pool`` (``(motion, waves, counts)`` of other clips, shaped as
    the batch's) or else from the batch itself, shrinks its motion map by ``mosaic_scale`` into the cell
    (jittered by up to 1/16 of the side), adds its waveform at a random gain of ±``gain_db`` and its count;
    a clip that would take the count past ``max_mosaic_count`` is skipped. Random draws come from
    ``generator`` (the global torch RNG when None, which the trainer seeds and restores on resume)."""
    rand = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
    randint = lambda high: int(torch.randint(high, (1,), generator=generator))  # noqa: E731
    batch, (low, high) = len(counts), cfg.mosaic_scale
    new_motion = motion.clone() if motion is not None else None
    new_waves = waves.clone() if waves is not None else None
    new_counts = counts.clone()
    size = motion.shape[-1] if motion is not None else 0
    cell_motion, cell_waves, cell_counts = pool if pool is not None else (motion, waves, counts)
    for i in range(batch):
        if float(rand(1)) < cfg.mosaic:
            cells = torch.randperm(4, generator=generator)[: 1 + randint(4)].tolist()
            total, canvas = 0.0, None if motion is None else torch.zeros_like(motion[i])
            wave = None if waves is None else torch.zeros_like(waves[i])
            for cell in cells:
                j = randint(len(cell_counts))
                if total + float(cell_counts[j]) > cfg.max_mosaic_count:
                    continue
                total += float(cell_counts[j])
                if canvas is not None:
                    side = round(size * (low + (high - low) * float(rand(1))))
                    jitter = ((rand(2) * 2 - 1) * size / 16).round().int().tolist()
                    row, col = divmod(cell, 2)
                    _place(canvas, cell_motion[j], side, row * size // 2 + jitter[0], col * size // 2 + jitter[1])
                gain = 10 ** ((float(rand(1)) * 2 - 1) * cfg.gain_db / 20)  # drawn either way: same draws
                if wave is not None:
                    wave += cell_waves[j] * gain
            if total > 0:
                new_counts[i] = total
                if canvas is not None:
                    new_motion[i] = canvas
                if wave is not None:
                    new_waves[i] = wave
        elif new_motion is not None and float(rand(1)) < 0.5 and cfg.zoom_min < 1:
            side = round(size * (cfg.zoom_min + (1 - cfg.zoom_min) * float(rand(1))))
            canvas = torch.zeros_like(motion[i])
            _place(canvas, motion[i], side, randint(size - side + 1), randint(size - side + 1))
            new_motion[i] = canvas
        if new_motion is not None and cfg.flip and float(rand(1)) < 0.5:
            new_motion[i] = new_motion[i].flip(-1)
    return new_motion, new_waves, new_counts


def build(params) -> Counter:
    profile = params.active_profile()
    return Counter(profile.backbone_width, profile.image_size, tuple(params.counting.streams),
                   frontend_from_params(params.features), params.counting.members)


def counts_of(batch: dict, device: torch.device) -> torch.Tensor:
    """``(B,)`` float: each clip's ``n_sources`` where the view carries it (≥ 0), else its distinct labels."""
    known = batch.get("n_sources")
    known = [-1] * len(batch["labels"]) if known is None else [int(n) for n in known]
    counts = [n if n >= 0 else len(set(labels)) for n, labels in zip(known, batch["labels"])]
    return torch.tensor(counts, dtype=torch.float32, device=device)


def log_rates(model: Counter, batch: dict) -> torch.Tensor:
    """``(B,)`` log-rates of a batch with ``motion`` (B, 1, H, W) and ``audio`` (B, N), as they are."""
    return model(*model.inputs(batch.get("motion"), batch.get("audio")))


def counting_loss(model, batch: dict, decision: str, max_count: int, augmentation: CountingAugment | None = None
                  ) -> dict:
    """Poisson regression loss of every member on the (augmented, when training) batch, averaged over the
    members (each learns alone: a member's gradient is its own loss's over the member count); logs ``acc``
    (exact count of the averaged log-rate after the decision rule) and ``mae``."""
    net = unwrap(model)  # DDP wraps the counter: its helpers live on the module
    motion = net.motion_input(batch.get("motion"))
    waves = batch["audio"] if "audio" in net.streams else None  # a motion-only counter mixes no sound
    target = counts_of(batch, (motion if motion is not None else waves).device)
    if model.training and augmentation is not None:
        spares = batch.get("spares")  # MemoryBatches' clips of the whole set, for the mosaics' cells
        pool = None if spares is None else (net.motion_input(spares.get("motion")), spares.get("audio"),
                                            counts_of(spares, target.device))
        motion, waves, target = augment(motion, waves, target, augmentation, pool=pool)
    member_rates = model(motion, net.logmel(waves), per_member=True)  # through DDP's forward: gradients sync
    predicted = decide(member_rates.detach().mean(1), decision, max_count)
    loss = poisson_count_loss(member_rates, target[:, None].expand_as(member_rates))
    return {"loss": loss, "acc": (predicted == target).float().mean(), "mae": (predicted - target).abs().mean()}


def decide(log_rate: torch.Tensor, decision: str, max_count: int) -> torch.Tensor:
    """``(B,)`` log-rates → counts (float, integral): round(λ) or the Poisson mode ⌊λ⌋, clipped to [0, max]."""
    rate = log_rate.float().exp()
    counts = rate.round() if decision == "round" else rate.floor()
    return counts.clamp(0, max_count)


def counter_shards(params):
    """The shard parameters the counter reads with: localization windows of ``counting.window_s`` seconds,
    for the motion stream each window's motion map (``shards.localization.motion``), and a shuffle buffer of
    ``counting.shuffle_buffer`` samples."""
    shards = with_window(params.shards, params.counting.window_s)
    motion = "motion" in params.counting.streams
    return shards.model_copy(update={"shuffle_buffer": params.counting.shuffle_buffer,
                                     "localization": shards.localization.model_copy(update={"motion": motion})})


def recipe(params, data_root: Path) -> Recipe:
    """One stage on ``DATA/shards/{counting.train_sets}`` (an equal share of each in every batch) with whole
    windows of ``counting.window_s`` seconds, read once and held in memory (``counting.memory``) or streamed;
    Adam, a linear warm-up over ``counting.warmup_frac`` of the steps, then a cosine decay."""
    cfg, profile = params.counting, params.active_profile()
    sets = [Path(data_root) / "shards" / name for name in cfg.train_sets]
    if cfg.memory:
        keep = tuple(name for name in ("motion", "audio") if name in cfg.streams)
        spares = cfg.augment.pool if cfg.augment.mosaic > 0 else 0
        batches = MemoryBatches(sets, "train", counter_shards(params), profile.batch_size, params.seed, keep,
                                spares=spares)
    else:
        batches = BalancedBatches(sets, "train", counter_shards(params), profile.batch_size, params.seed,
                                  with_logmel=False)  # the counter computes the log-mel of its (mixed) waves
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    epochs, steps = epochs_for(cfg.epochs, params), steps_for(batches, params)
    schedule = ScheduleParams(name="cosine", warmup_steps=math.floor(cfg.warmup_frac * epochs * steps))
    loss = partial(counting_loss, decision=cfg.decision, max_count=cfg.max_count, augmentation=cfg.augment)
    stage = Stage("train", batches, loss, epochs,
                  model=initialised(partial(build, params), "counting", params, data_root),
                  steps_per_epoch=steps, optimizer=optimizer, schedule=schedule)
    return Recipe("counting", [stage], params_sections=PARAMS_SECTIONS)


def evaluation_params(params):
    """The ``params`` that ``avsep evaluate counting`` streams the clips with (:func:`counter_shards`): whole
    windows of ``counting.window_s`` seconds, the windows the counter trained on and :func:`count_split`
    reads, with their motion maps. The runner's default window, ``shards.localization.window_s`` (1 s, the
    localizers'), leaves unheard the instruments that rest for a second and shows no motion."""
    return params.model_copy(update={"shards": counter_shards(params)})


def predict_counts(model, batch: dict, decision: str = "round", max_count: int = 8) -> torch.Tensor:
    """``(B,)`` float counts of a batch with ``motion`` and ``audio``."""
    with torch.no_grad():
        return decide(log_rates(model, batch), decision, max_count)


def predict(model, batch: dict) -> torch.Tensor:
    """TASKS["counting"]: ``(B,)`` estimated number of sound sources (rounded rate)."""
    return predict_counts(model, batch)


TASKS = {"counting": predict}


def count_split(model, location: str | Path, split: str, params, device: torch.device | str = "cpu"
                ) -> tuple[list[str], np.ndarray, np.ndarray, list[str | None]]:
    """Every clip of one split: ``(clip_ids, predicted (N,), labelled (N,), scenes)`` counts over whole windows of
    ``counting.window_s`` seconds (the first window of each clip, the same every run); ``scenes``: the scene
    each sample carries (``None`` where its source knows none)."""
    cfg = params.counting
    shard_params = counter_shards(params)
    view = evaluation_view(str(location), split, shard_params, view="localization",
                           batch_size=params.active_profile().batch_size, seed=params.seed)
    model = model.to(device).eval()
    rows: list[tuple[int, str, float, float, str | None]] = []
    for batch in tqdm(make_loader(view, shard_params), desc=f"counting {split}", leave=False):
        inputs = {name: batch[name].to(device) for name in ("motion", "audio") if name in batch}
        counts = predict_counts(model, inputs, cfg.decision, cfg.max_count)
        truth = counts_of(batch, torch.device("cpu"))
        rows += list(zip(batch["index"], batch["key"], counts.cpu().tolist(), truth.tolist(), batch["scene"]))
    rows.sort(key=lambda r: r[:4])
    return [r[1] for r in rows], np.array([r[2] for r in rows]), np.array([r[3] for r in rows]), [r[4] for r in rows]


def write_predictions(clip_ids: list[str], counts: np.ndarray, path: str | Path) -> Path:
    """Write ``clip_id,n_sources`` (the format :func:`avsep.dataset.curricula.read_predictions` reads), atomically."""
    lines = ["clip_id,n_sources"] + [f"{c},{int(n)}" for c, n in zip(clip_ids, counts)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def evaluate_k_scenes(scenes: list[str | None], predicted: np.ndarray, labelled: np.ndarray, cap: int | None) -> dict:
    """:func:`avsep.metrics.counting.evaluate_counting` on every clip and on the k-source scenes (``scenes``: each
    clip's scene as its sample carries it, e.g. the world's ``k3``; ``None`` where unknown)."""
    keep = np.array([bool(s) and s[0] == "k" and s[1:].isdigit() for s in scenes], dtype=bool)
    result = {"all": evaluate_counting(predicted, labelled, cap)}
    if keep.any():
        result["k_scenes"] = evaluate_counting(predicted[keep], labelled[keep], cap)
    return result
