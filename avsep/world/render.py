"""Render one clip: music per sounding object, sprites laid out on a backdrop, motion on note onsets.

Each sprite is drawn once; per frame only its position changes (integer translation), so the frame loop is
array slicing and one alpha blend per object. Ground truth comes from the same numbers that drew the frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avsep.config.world import WorldParams
from avsep.world import backdrop, music
from avsep.world.classes import CLASSES
from avsep.world.scene import ClipSpec
from avsep.world.sprites import Sprite, draw_sprite

NOISE_FRAMES = 4  # sensor-noise fields cycled over the frames (fresh noise per frame is the costly part)
MIN_JUMP_PX = 2.0  # smaller jumps of small objects would vanish when offsets are rounded to whole pixels


@dataclass
class ClipRender:
    """A rendered clip. ``frames``: (T, H, W, 3) uint8; ``audio``: (2, N) float32 in [-1, 1];
    ``annotation``: the ground-truth dict of docs/contracts.md; ``seconds``: time per stage."""

    frames: np.ndarray
    audio: np.ndarray
    annotation: dict
    seconds: dict = field(default_factory=dict)


def _cells(n: int, width: int, height: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Layout cells ``(x0, y0, x1, y1)``: the whole frame for one object, two columns for two, 2x2 for 3-4."""
    if n == 1:
        return [(0, 0, width, height)]
    if n == 2:
        return [(0, 0, width // 2, height), (width // 2, 0, width, height)]
    grid = [
        (0, 0, width // 2, height // 2),
        (width // 2, 0, width, height // 2),
        (0, height // 2, width // 2, height),
        (width // 2, height // 2, width, height),
    ]
    return [grid[i] for i in sorted(rng.choice(4, size=n, replace=False))]


def _motion(
    onsets: list[float], times: np.ndarray, jump: float, decay_s: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame offsets (dx, dy) in whole pixels (T,) each: a jump up and a rock sideways at every onset."""
    if not onsets:
        return np.zeros(len(times), int), np.zeros(len(times), int)
    onset = np.asarray(onsets)[None, :]
    lag = times[:, None] - onset
    pulse = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) / decay_s), 0.0)  # (T, n_onsets)
    side = rng.choice([-1.0, 1.0], size=onset.shape[1])
    dy = -jump * np.minimum(pulse.sum(1), 1.5)
    dx = 0.5 * jump * np.clip((pulse * side).sum(1), -1.5, 1.5)
    return np.round(dx).astype(int), np.round(dy).astype(int)


def _blend(frame: np.ndarray, layer: tuple[np.ndarray, np.ndarray], x: int, y: int) -> None:
    """Alpha-blend a premultiplied ``layer`` (rgb * a, 1 - a) into ``frame`` (H, W, 3) with its top left at
    (x, y), clipped to the frame."""
    rgb_a, keep = layer
    h, w = keep.shape[:2]
    fx0, fy0 = max(x, 0), max(y, 0)
    fx1, fy1 = min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if fx0 >= fx1 or fy0 >= fy1:
        return
    sx0, sy0 = fx0 - x, fy0 - y
    rows, cols = slice(sy0, sy0 + fy1 - fy0), slice(sx0, sx0 + fx1 - fx0)
    region = frame[fy0:fy1, fx0:fx1]
    rounding = 0.5 if frame.dtype == np.uint8 else 0.0  # the cast to uint8 truncates
    region[:] = region * keep[rows, cols] + rgb_a[rows, cols] + rounding


def _place(sprite: Sprite, cell, margin: int, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left position keeping the sprite's tight box inside ``cell`` when it fits (centred otherwise)."""
    bx0, by0, bx1, by1 = sprite.bbox
    cx0, cy0, cx1, cy1 = cell
    lo_x, hi_x = cx0 - bx0, cx1 - bx1
    lo_y, hi_y = cy0 - by0 + margin, cy1 - by1
    x = int(rng.integers(lo_x, hi_x + 1)) if hi_x >= lo_x else (lo_x + hi_x) // 2
    y = int(rng.integers(lo_y, hi_y + 1)) if hi_y >= lo_y else (lo_y + hi_y) // 2
    return x, y


def render_clip(spec: ClipSpec, params: WorldParams) -> ClipRender:
    """Render ``spec``: frames (T, H, W, 3) uint8 at ``params.fps``, audio (2, N) float32 at ``params.sample_rate``."""
    rng = np.random.default_rng(spec.seed)
    width, height, n_frames = params.width, params.height, params.n_frames()
    seconds = {}

    start = time.perf_counter()
    melodies = [music.sample_melody(name, params, rng) if on else [] for name, on in zip(spec.classes, spec.sounding)]
    stems = [music.render_melody(name, notes, params, rng) for name, notes in zip(spec.classes, melodies) if notes]
    audio = music.mix(stems, params, rng)
    seconds["audio"] = time.perf_counter() - start

    start = time.perf_counter()
    base = backdrop.add_clutter(
        backdrop.background(height, width, rng), int(rng.integers(params.clutter[0], params.clutter[1] + 1)), rng
    )
    times = np.arange(n_frames) / params.fps
    objects: list[dict[str, Any]] = []
    layers: list[tuple] = []
    for name, notes, cell in zip(spec.classes, melodies, _cells(len(spec.classes), width, height, rng)):
        aspect = CLASSES[name].aspect * (1 + rng.uniform(-1, 1) * params.aspect_jitter)
        cell_w, cell_h = cell[2] - cell[0], cell[3] - cell[1]
        obj_h = rng.uniform(*params.object_scale) * min(cell_h, cell_w * aspect)
        sprite = draw_sprite(
            name,
            max(params.min_object_px, int(obj_h)),
            aspect,
            rng.uniform(-1, 1) * params.rotation_deg,
            params.colour_jitter,
            rng,
        )
        grain = rng.standard_normal(sprite.rgb.shape, dtype=np.float32) * params.video_noise
        sprite.rgb = np.clip(sprite.rgb + grain, 0, 255)
        jump = max(params.onset_jump_px * obj_h, MIN_JUMP_PX) if params.onset_jump_px > 0 else 0.0
        x, y = _place(sprite, cell, int(np.ceil(1.5 * jump)), rng)
        dx, dy = _motion([nt.onset_s for nt in notes], times, jump, params.onset_decay_s, rng)
        occluder = None
        if rng.random() < params.occlusion_prob:
            bx0, by0, bx1, by1 = sprite.bbox
            occ, side = backdrop.occluder(bx1 - bx0, by1 - by0, rng)
            oh, ow = occ.alpha.shape[:2]
            ox = {"left": x + bx0, "right": x + bx1 - ow, "bottom": x + (bx0 + bx1 - ow) // 2}[side]
            oy = y + by1 - oh if side == "bottom" else y + (by0 + by1 - oh) // 2
            occluder = (occ.premultiplied(), ox, oy)
        layers.append((sprite, x, y, dx, dy, occluder))
        intervals = music.note_intervals(notes, params.interval_merge_s)
        objects.append({"class": name, "sounding": bool(notes), "intervals": intervals})

    # Silent objects never move: bake them (and their occluders) into the backdrop once.
    moving = [layer for layer, notes in zip(layers, melodies) if notes]
    for sprite, x, y, _, _, occluder in (layer for layer, notes in zip(layers, melodies) if not notes):
        _blend(base, sprite.premultiplied(), x, y)
        if occluder is not None:
            _blend(base, *occluder)
    noise = rng.standard_normal((NOISE_FRAMES, height, width, 3), dtype=np.float32) * params.video_noise
    backgrounds = np.clip(base[None] + noise + 0.5, 0, 255).astype(np.uint8)
    premultiplied = [sprite.premultiplied() for sprite, *_ in moving]
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    for t in range(n_frames):
        frame = frames[t]
        frame[:] = backgrounds[t % NOISE_FRAMES]
        for layer, (_, x, y, dx, dy, _) in zip(premultiplied, moving):
            _blend(frame, layer, x + dx[t], y + dy[t])
        for *_, occluder in moving:
            if occluder is not None:
                _blend(frame, *occluder)
    mid = (np.arange(n_frames) + 0.5) / params.fps  # a frame sounds if its middle lies in an interval
    for obj, (sprite, x, y, dx, dy, occluder) in zip(objects, layers):
        bx0, by0, bx1, by1 = sprite.bbox
        boxes = np.stack([x + bx0 + dx, y + by0 + dy, x + bx1 + dx, y + by1 + dy], axis=1)
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
        obj["boxes"] = boxes.tolist()
        obj["sounding_frames"] = [any(a <= m < b for a, b in obj["intervals"]) for m in mid]
        obj["occluded"] = occluder is not None
    seconds["drawing"] = time.perf_counter() - start

    annotation = {
        "clip_id": spec.clip_id,
        "split": spec.split,
        "scene": spec.scene,
        "n_sources": spec.n_sources,
        "fps": params.fps,
        "size": [width, height],
        "duration_s": params.duration_s,
        "sample_rate": params.sample_rate,
        "n_frames": n_frames,
        "seed": spec.seed,
        "objects": objects,
    }
    return ClipRender(frames, audio, annotation, seconds)
