"""Cocktail-party synthesis, deterministic by seed.

- **MUSIC-Synthetic (DSOL)**: four 1-second solo clips of different classes, their frames tiled 2x2, the
  audio of two of the four mixed (each window shifted by a random jitter) -> two sounding and two silent
  instruments, with per-quadrant class, box and sounding flag.
- **N-mix evaluation sets** (Sound of Pixels, N = 2, 3): windows of N clips of different classes, each
  divided by N, then summed; the mixture and every component are kept.

Work is split in two steps so that a build can plan cheaply from metadata and load clip content only for
what it renders: ``plan_*`` (a pure function of the catalogue, the count and the seed; sample ``i`` depends
only on ``(seed, split, i)``) and ``render_*`` (pixels and samples from a ``load(clip_id) -> Clip``).
``encode_*`` turns a rendered sample into shard members (docs/contracts.md).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from avsep.shards.codec import encode_jpeg, encode_json, encode_sample, encode_wav, frame_name

QUADRANTS = 4  # the 2x2 grid
_GRID = 2
_EPS = 1e-6  # tolerance when counting whole seconds in a float duration


class MixingError(ValueError):
    """Mixing cannot proceed (too few classes, mismatched rates...); the message names the inputs."""


@dataclass(frozen=True)
class ClipInfo:
    """What planning needs to know about a solo clip."""

    key: str
    label: str
    duration_s: float


@dataclass
class Clip:
    """A decoded solo clip. ``frames: (T, H, W, 3) uint8`` at ``fps``; ``audio: (N,) float32`` mono at
    ``sample_rate``; ``boxes: (T, 4)`` ``[xmin, ymin, xmax, ymax]`` pixels of the instrument per frame, or None
    (the whole frame)."""

    key: str
    label: str
    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    boxes: np.ndarray | None = None


@dataclass(frozen=True)
class Part:
    """One clip's contribution: its window starts at ``start_s``; for cocktails ``second_s`` is the second the
    plan chose (its frame is shown) and ``start_s`` that second plus the audio jitter."""

    clip_id: str
    label: str
    start_s: float
    sounding: bool = True
    second_s: float | None = None


@dataclass(frozen=True)
class MixPlan:
    key: str
    parts: tuple[Part, ...]


@dataclass
class Rendered:
    """A rendered mixture. Cocktail: ``frames: (1, H, W, 3)`` (the tiled frame), ``sources`` None.
    N-mix: ``frames`` None, ``component_frames``: N arrays ``(F, H, W, 3)``, ``sources: (N, S)``."""

    key: str
    audio: np.ndarray
    sample_rate: int
    meta: dict[str, Any]
    frames: np.ndarray | None = None
    sources: np.ndarray | None = None
    component_frames: list[np.ndarray] | None = None


def _rng(seed: int, split: str, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{split}/{kind}".encode()), index])


def _by_class(catalog: Sequence[ClipInfo], min_duration_s: float, need: int, what: str) -> dict[str, list[ClipInfo]]:
    groups: dict[str, list[ClipInfo]] = {}
    for info in sorted(catalog, key=lambda c: c.key):
        if info.duration_s + _EPS >= min_duration_s:
            groups.setdefault(info.label, []).append(info)
    if len(groups) < need:
        raise MixingError(
            f"{what}: needs clips of at least {need} different classes lasting >= {min_duration_s:g} s, "
            f"found {len(groups)} ({sorted(groups)})"
        )
    return dict(sorted(groups.items()))


def plan_cocktails(
    catalog: Sequence[ClipInfo],
    count: int,
    seed: int,
    split: str,
    *,
    n_sounding: int = 2,
    jitter_s: float = 0.05,
    window_s: float = 1.0,
) -> list[MixPlan]:
    """``count`` 2x2 cocktail plans: four clips of different classes (random quadrants), one whole second of
    each, ``n_sounding`` of them sounding with their window start jittered by U(-jitter_s, jitter_s)."""
    if not 1 <= n_sounding <= QUADRANTS:
        raise MixingError(f"cocktail: n_sounding must be in 1..{QUADRANTS}, got {n_sounding}")
    groups = _by_class(catalog, window_s, QUADRANTS, f"cocktail set {split!r}")
    classes = list(groups)
    plans = []
    for i in range(count):
        rng = _rng(seed, split, "cocktail", i)
        chosen = rng.choice(len(classes), QUADRANTS, replace=False)
        sounding = set(rng.choice(QUADRANTS, n_sounding, replace=False).tolist())
        parts = []
        for q, c in enumerate(chosen):
            clips = groups[classes[c]]
            info = clips[int(rng.integers(len(clips)))]
            seconds = max(1, math.floor(info.duration_s / window_s + _EPS))
            second = start = int(rng.integers(seconds)) * window_s
            if q in sounding and jitter_s > 0:
                latest = max(info.duration_s - window_s, 0.0)
                start = float(np.clip(start + rng.uniform(-jitter_s, jitter_s), 0.0, latest))
            parts.append(Part(info.key, info.label, round(start, 6), q in sounding, second))
        plans.append(MixPlan(f"{split}-cocktail-{i:06d}", tuple(parts)))
    return plans


def plan_nmix(
    catalog: Sequence[ClipInfo], n_mix: int, count: int, seed: int, split: str, *, window_s: float
) -> list[MixPlan]:
    """``count`` N-mix plans: ``n_mix`` clips of different classes, each with a random ``window_s`` window."""
    if n_mix < 2:
        raise MixingError(f"nmix: n_mix must be >= 2, got {n_mix}")
    groups = _by_class(catalog, window_s, n_mix, f"nmix{n_mix} set {split!r}")
    classes = list(groups)
    plans = []
    for i in range(count):
        rng = _rng(seed, split, f"nmix{n_mix}", i)
        parts = []
        for c in rng.choice(len(classes), n_mix, replace=False):
            clips = groups[classes[c]]
            info = clips[int(rng.integers(len(clips)))]
            start = float(rng.uniform(0.0, max(info.duration_s - window_s, 0.0)))
            parts.append(Part(info.key, info.label, round(start, 6)))
        plans.append(MixPlan(f"{split}-nmix{n_mix}-{i:06d}", tuple(parts)))
    return plans


def _audio_window(clip: Clip, start_s: float, window_s: float) -> np.ndarray:
    """``(round(window_s * rate),) float32`` from ``start_s``, zero-padded past the end of the clip."""
    start, length = round(start_s * clip.sample_rate), round(window_s * clip.sample_rate)
    out = clip.audio[start : start + length].astype(np.float32)
    return np.pad(out, (0, length - len(out))) if len(out) < length else out


def _load_all(plan: MixPlan, load: Callable[[str], Clip]) -> list[Clip]:
    clips = [load(part.clip_id) for part in plan.parts]
    rates = {clip.sample_rate for clip in clips}
    if len(rates) != 1:
        raise MixingError(f"{plan.key}: clips {[c.key for c in clips]} have different sample rates {sorted(rates)}")
    return clips


def render_cocktail(
    plan: MixPlan, load: Callable[[str], Clip], *, window_s: float = 1.0, size: tuple[int, int] | None = None
) -> Rendered:
    """Pixels and audio of a cocktail plan.

    The tiled frame is ``size = (H, W)`` (default: the first clip's frame size); each clip's frame at the middle
    of its second is resized (bilinear) into its quadrant (row-major: top-left, top-right, bottom-left,
    bottom-right). Boxes are the clip's instrument box at that frame scaled into the quadrant, or the whole
    quadrant when the clip has none. Audio: the sounding windows, each divided by their number, summed.
    """
    clips = _load_all(plan, load)
    height, width = size or clips[0].frames.shape[1:3]
    qh, qw = height // _GRID, width // _GRID
    tiled = np.zeros((_GRID * qh, _GRID * qw, 3), np.uint8)
    sounding = [p for p in plan.parts if p.sounding]
    audio = np.zeros(round(window_s * clips[0].sample_rate), np.float32)
    quadrants = []
    for q, (part, clip) in enumerate(zip(plan.parts, clips)):
        second = part.start_s if part.second_s is None else part.second_s
        index = min(math.floor((second + window_s / 2) * clip.fps), len(clip.frames) - 1)
        src_h, src_w = clip.frames.shape[1:3]
        y0, x0 = (q // _GRID) * qh, (q % _GRID) * qw
        tiled[y0 : y0 + qh, x0 : x0 + qw] = np.asarray(
            Image.fromarray(clip.frames[index]).resize((qw, qh), Image.Resampling.BILINEAR)
        )
        if clip.boxes is not None:
            bx = np.asarray(clip.boxes[index], np.float64) * [qw / src_w, qh / src_h, qw / src_w, qh / src_h]
            box = (bx + [x0, y0, x0, y0]).round(3).tolist()
        else:
            box = [float(x0), float(y0), float(x0 + qw), float(y0 + qh)]
        if part.sounding:
            audio += _audio_window(clip, part.start_s, window_s) / len(sounding)
        quadrants.append(
            {
                "class": part.label,
                "box": box,
                "sounding": part.sounding,
                "clip_id": part.clip_id,
                "second": second,
                "start_s": part.start_s,
                "frame": index,
            }
        )
    labels = sorted(p.label for p in sounding)
    meta = {
        "clip_id": plan.key,
        "source": "cocktail",
        "labels": labels,
        "n_sources": len(sounding),
        "sample_rate": clips[0].sample_rate,
        "duration_s": window_s,
        "fps": 1.0 / window_s,
        "size": [tiled.shape[0], tiled.shape[1]],
        "quadrants": quadrants,
    }
    return Rendered(plan.key, audio, clips[0].sample_rate, meta, frames=tiled[None])


def render_nmix(plan: MixPlan, load: Callable[[str], Clip], *, window_s: float) -> Rendered:
    """The mixture and components of an N-mix plan: component i = window_i / N (Sound of Pixels), the mixture
    is their sum; each component keeps the stored frames inside its window ``(F, H, W, 3)``."""
    clips = _load_all(plan, load)
    n = len(clips)
    sources = np.stack([_audio_window(c, p.start_s, window_s) for c, p in zip(clips, plan.parts)]) / n
    frames = []
    for clip, part in zip(clips, plan.parts):
        first = min(math.ceil(part.start_s * clip.fps - _EPS), len(clip.frames) - 1)
        last = min(math.ceil((part.start_s + window_s) * clip.fps - _EPS), len(clip.frames))
        frames.append(clip.frames[first : max(last, first + 1)])
    meta = {
        "clip_id": plan.key,
        "source": f"nmix{n}",
        "n_mix": n,
        "n_sources": n,
        "clip_ids": [p.clip_id for p in plan.parts],
        "classes": [p.label for p in plan.parts],
        "labels": sorted(p.label for p in plan.parts),
        "start_s": [p.start_s for p in plan.parts],
        "gains": [1.0 / n] * n,
        "sample_rate": clips[0].sample_rate,
        "duration_s": window_s,
    }
    return Rendered(
        plan.key,
        sources.sum(0).astype(np.float32),
        clips[0].sample_rate,
        meta,
        sources=sources.astype(np.float32),
        component_frames=frames,
    )


def encode_cocktail(
    sample: Rendered, jpeg_quality: int, logmel: np.ndarray | None = None, extra_meta: dict | None = None
) -> dict[str, bytes]:
    """Shard members of a cocktail sample: ``000.jpg`` (tiled frame), ``wav``, ``logmel.npy`` (if given), ``json``."""
    if sample.frames is None:
        raise ValueError(f"{sample.key}: no tiled frame, not a cocktail sample (encode_nmix encodes N-mix samples)")
    meta = {**sample.meta, **(extra_meta or {})}
    return encode_sample(sample.key, sample.frames, sample.audio, sample.sample_rate, logmel, meta, jpeg_quality)


def encode_nmix(sample: Rendered, jpeg_quality: int, extra_meta: dict | None = None) -> dict[str, bytes]:
    """Shard members of an N-mix sample: ``mix.wav``, ``src{i}.wav``, ``src{i}.NNN.jpg``, ``json``."""
    if sample.sources is None or sample.component_frames is None:
        raise ValueError(f"{sample.key}: no sources or component frames, not an N-mix sample (see encode_cocktail)")
    members = {
        "mix.wav": encode_wav(sample.audio, sample.sample_rate),
        "json": encode_json({**sample.meta, **(extra_meta or {})}),
    }
    for i, (source, frames) in enumerate(zip(sample.sources, sample.component_frames)):
        members[f"src{i}.wav"] = encode_wav(source, sample.sample_rate)
        for k, frame in enumerate(frames):
            members[frame_name(k, f"src{i}")] = encode_jpeg(frame, jpeg_quality)
    return members
