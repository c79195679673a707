"""Render one clip: music per sounding object, sprites laid out on a backdrop, motion on note onsets.

Each sprite is drawn once; per frame only its position changes (integer translation), so the frame loop is
array slicing and one alpha blend per object. Ground truth comes from the same numbers that drew the frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avsep.config.world import Realism, WorldParams
from avsep.world import backdrop, music, room, streams
from avsep.world.classes import CLASSES
from avsep.world.scene import ClipSpec
from avsep.world.sprites import Sprite, draw_sprite

NOISE_FRAMES = 4  # sensor-noise fields cycled over the frames (fresh noise per frame is the costly part)
MIN_JUMP_PX = 2.0  # smaller jumps of small objects would vanish when offsets are rounded to whole pixels
SWAY_HZ = (0.15, 0.5)  # a seated player's slow sway
BOW_HZ = (2.0, 5.0)  # bow strokes, breaths, hands on keys


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
    """Per-frame offsets (dx, dy) in pixels (T,) each, not yet rounded: a jump up and a rock sideways at every
    onset."""
    if not onsets:
        return np.zeros(len(times)), np.zeros(len(times))
    onset = np.asarray(onsets)[None, :]
    lag = times[:, None] - onset
    pulse = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) / decay_s), 0.0)  # (T, n_onsets)
    side = rng.choice([-1.0, 1.0], size=onset.shape[1])
    dy = -jump * np.minimum(pulse.sum(1), 1.5)
    dx = 0.5 * jump * np.clip((pulse * side).sum(1), -1.5, 1.5)
    return dx, dy


def _playing(notes: list[music.Note], times: np.ndarray) -> np.ndarray:
    """(T,) bool: a note of ``notes`` is held at each time."""
    playing = np.zeros(len(times), bool)
    for nt in notes:
        playing |= (times >= nt.onset_s) & (times < nt.onset_s + nt.duration_s)
    return playing


def _player_motion(
    notes: list[music.Note], times: np.ndarray, height: float, effects: Realism, seed: int, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Realism's extra offsets (dx, dy) in pixels (T,) each of a player of ``height`` px: a slow sway always,
    and while ``notes`` are held a bowing / keys oscillation. Zeros when both effects are off."""
    dx, dy = np.zeros(len(times)), np.zeros(len(times))
    if effects.sway_px > 0:
        rng = streams.stream(seed, streams.SWAY, index)
        rate, phase = rng.uniform(*SWAY_HZ), rng.uniform(0, 2 * np.pi)
        dx += effects.sway_px * height * np.sin(2 * np.pi * rate * times + phase)
    if effects.bow_px > 0 and notes:
        rng = streams.stream(seed, streams.BOW, index)
        rate, phase = rng.uniform(*BOW_HZ), rng.uniform(0, 2 * np.pi)
        stroke = effects.bow_px * height * np.sin(2 * np.pi * rate * times + phase) * _playing(notes, times)
        if rng.random() < 0.5:  # a bow moves sideways, a hand on keys or valves up and down
            dx += stroke
        else:
            dy += stroke
    return dx, dy


def _shift(frame: np.ndarray, dx: int, dy: int) -> None:
    """Translate ``frame`` (H, W, 3) in place by (dx, dy) pixels, the uncovered border repeating the edge."""
    if dx == 0 and dy == 0:
        return
    margin = max(abs(dx), abs(dy))
    h, w = frame.shape[:2]
    padded = np.pad(frame, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
    frame[:] = padded[margin - dy : margin - dy + h, margin - dx : margin - dx + w]


def camera_shake(seed: int, n_frames: int, jitter_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Whole-frame offsets (dx, dy), whole pixels (T,) each: normal with std ``jitter_px`` per frame."""
    if jitter_px <= 0:
        return np.zeros(n_frames, int), np.zeros(n_frames, int)
    shake = np.round(streams.stream(seed, streams.CAMERA).normal(0, jitter_px, size=(2, n_frames))).astype(int)
    return shake[0], shake[1]


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


@dataclass(frozen=True)
class Offscreen:
    """An instrument heard but not seen: its class, its notes and its stem (2, N), mixed ``gain_db`` against the
    on-screen loudness."""

    name: str
    notes: list[music.Note]
    stem: np.ndarray
    gain_db: float


def _offscreen(spec: ClipSpec, params: WorldParams, effects: Realism) -> Offscreen | None:
    """With ``effects.offscreen_prob``, an instrument of a class the scene does not show, playing its own melody."""
    if effects.offscreen_prob == 0:
        return None
    rng = streams.stream(spec.seed, streams.OFFSCREEN)
    hidden = [c for c in params.classes if c not in spec.classes]
    if rng.random() >= effects.offscreen_prob or not hidden:
        return None
    name = str(rng.choice(hidden))
    gain_db = float(rng.uniform(*effects.offscreen_db))
    notes = music.sample_melody(name, params, rng)
    index = streams.OFFSCREEN_INDEX
    played = music.vary_notes(notes, effects, spec.seed, index)
    stem = music.render_melody(name, played, params, rng, music.draw_voice(name, effects, spec.seed, index))
    return Offscreen(name, notes, stem, gain_db)


def _room(
    stems: list[tuple[int, np.ndarray]], spec: ClipSpec, params: WorldParams, effects: Realism
) -> tuple[list[tuple[int, np.ndarray]], dict | None]:
    """With ``effects.reverb_prob`` the clip is in a room (one RT60 and DRR): every stem (object index, (2, N))
    through its own impulse response per channel. Returns the stems and ``{"rt60_s", "drr_db"}`` or None."""
    if effects.reverb_prob == 0:
        return stems, None
    rng = streams.stream(spec.seed, streams.ROOM)
    if rng.random() >= effects.reverb_prob:
        return stems, None
    rt60, drr = float(rng.uniform(*effects.rt60_s)), float(rng.uniform(*effects.drr_db))
    sr = params.sample_rate
    wet = []
    for index, stem in stems:
        responses = np.stack(
            [room.impulse_response(rt60, drr, sr, streams.stream(spec.seed, streams.ROOM, index, ch)) for ch in (0, 1)]
        )
        wet.append((index, room.reverberate(stem, responses)))
    return wet, {"rt60_s": round(rt60, 4), "drr_db": round(drr, 4)}


def render_clip(spec: ClipSpec, params: WorldParams) -> ClipRender:
    """Render ``spec``: frames (T, H, W, 3) uint8 at ``params.fps``, audio (2, N) float32 at ``params.sample_rate``.

    The scene draws from ``default_rng(spec.seed)`` in a fixed order; the realism effects of
    ``params.effects_active()`` each draw from their own stream (:mod:`avsep.world.streams`), so with every
    effect off the clip is the same as before they existed.
    """
    rng = np.random.default_rng(spec.seed)
    effects = params.effects_active()
    width, height, n_frames = params.width, params.height, params.n_frames()
    seconds = {}

    start = time.perf_counter()
    melodies = [music.sample_melody(name, params, rng) if on else [] for name, on in zip(spec.classes, spec.sounding)]
    stems = [
        (
            i,
            music.render_melody(
                name,
                music.vary_notes(notes, effects, spec.seed, i),
                params,
                rng,
                music.draw_voice(name, effects, spec.seed, i),
            ),
        )
        for i, (name, notes) in enumerate(zip(spec.classes, melodies))
        if notes
    ]
    offscreen = _offscreen(spec, params, effects)
    if offscreen is not None:
        stems.append((streams.OFFSCREEN_INDEX, offscreen.stem))
    stems, in_room = _room(stems, spec, params, effects)
    background = None
    if effects.snr_db is not None:
        noise_rng = streams.stream(spec.seed, streams.NOISE)
        snr_db = float(noise_rng.uniform(*effects.snr_db))
        background = (snr_db, room.coloured_noise(effects.noise_colour, (2, params.n_samples()), noise_rng))
    heard = dict(stems)
    hidden = heard.pop(streams.OFFSCREEN_INDEX, None)
    audio = music.mix(
        list(heard.values()),
        params,
        rng,
        offscreen=None if offscreen is None or hidden is None else (hidden, offscreen.gain_db),
        background=background,
    )
    seconds["audio"] = time.perf_counter() - start

    start = time.perf_counter()
    base = backdrop.add_clutter(
        backdrop.background(height, width, rng), int(rng.integers(params.clutter[0], params.clutter[1] + 1)), rng
    )
    times = np.arange(n_frames) / params.fps
    objects: list[dict[str, Any]] = []
    layers: list[tuple] = []
    moves: list[bool] = []
    cells = _cells(len(spec.classes), width, height, rng)
    for i, (name, notes, cell) in enumerate(zip(spec.classes, melodies, cells)):
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
        mimed: list[music.Note] = []
        if not notes and effects.silent_motion:  # the melody a silent player mimes, drawn as a heard one is
            mime_rng = streams.stream(spec.seed, streams.SILENT_MOTION, i)
            mimed = music.sample_melody(name, params, mime_rng)
            dx, dy = _motion([nt.onset_s for nt in mimed], times, jump, params.onset_decay_s, mime_rng)
        ex, ey = _player_motion(notes or mimed, times, obj_h, effects, spec.seed, i)
        dx, dy = np.round(dx + ex).astype(int), np.round(dy + ey).astype(int)
        occluder = None
        if rng.random() < params.occlusion_prob:
            bx0, by0, bx1, by1 = sprite.bbox
            occ, side = backdrop.occluder(bx1 - bx0, by1 - by0, rng)
            oh, ow = occ.alpha.shape[:2]
            ox = {"left": x + bx0, "right": x + bx1 - ow, "bottom": x + (bx0 + bx1 - ow) // 2}[side]
            oy = y + by1 - oh if side == "bottom" else y + (by0 + by1 - oh) // 2
            occluder = (occ.premultiplied(), ox, oy)
        layers.append((sprite, x, y, dx, dy, occluder))
        moves.append(bool(notes) or bool(dx.any() or dy.any()))
        intervals = music.note_intervals(notes, params.interval_merge_s)
        objects.append({"class": name, "sounding": bool(notes), "intervals": intervals})

    # Players that never move (every silent one, unless they mime) are baked into the backdrop once.
    moving = [layer for layer, moved in zip(layers, moves) if moved]
    for sprite, x, y, _, _, occluder in (layer for layer, moved in zip(layers, moves) if not moved):
        _blend(base, sprite.premultiplied(), x, y)
        if occluder is not None:
            _blend(base, *occluder)
    noise = rng.standard_normal((NOISE_FRAMES, height, width, 3), dtype=np.float32) * params.video_noise
    backgrounds = np.clip(base[None] + noise + 0.5, 0, 255).astype(np.uint8)
    premultiplied = [sprite.premultiplied() for sprite, *_ in moving]
    shake_x, shake_y = camera_shake(spec.seed, n_frames, effects.camera_jitter_px)
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    for t in range(n_frames):
        frame = frames[t]
        frame[:] = backgrounds[t % NOISE_FRAMES]
        for layer, (_, x, y, dx, dy, _) in zip(premultiplied, moving):
            _blend(frame, layer, x + dx[t], y + dy[t])
        for *_, occluder in moving:
            if occluder is not None:
                _blend(frame, *occluder)
        _shift(frame, int(shake_x[t]), int(shake_y[t]))
    mid = (np.arange(n_frames) + 0.5) / params.fps  # a frame sounds if its middle lies in an interval
    for obj, (sprite, x, y, dx, dy, occluder) in zip(objects, layers):
        bx0, by0, bx1, by1 = sprite.bbox
        ox, oy = dx + shake_x, dy + shake_y
        boxes = np.stack([x + bx0 + ox, y + by0 + oy, x + bx1 + ox, y + by1 + oy], axis=1)
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
    if not effects.is_off():  # the world without effects keeps its annotation bytes
        annotation["realism"] = {
            "preset": params.realism,
            "room": in_room,
            "snr_db": None if background is None else round(background[0], 4),
            "offscreen": []
            if offscreen is None
            else [
                {
                    "class": offscreen.name,
                    "intervals": music.note_intervals(offscreen.notes, params.interval_merge_s),
                    "gain_db": round(offscreen.gain_db, 4),
                }
            ],
        }
    return ClipRender(frames, audio, annotation, seconds)
