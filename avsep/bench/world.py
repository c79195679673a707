"""``avsep bench world``: clip-seconds rendered per CPU-second, where the time goes, and the sprite cache's gain.

Renders clips of the configured world one after the other in this process (audio synthesis, drawing,
H.264/AAC encoding through ffmpeg) and counts CPU time of this process and of the encoder. The alternative
is the naive renderer that redraws every sprite on every frame instead of drawing it once and translating it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from avsep.config import Params
from avsep.world.render import render_clip
from avsep.world.scene import clip_specs
from avsep.world.sprites import draw_sprite
from avsep.world.writer import world_fingerprint, write_clip

NAME = "world"
HELP = "render clips of the world: clip-seconds per CPU-second, time per stage, sprite cache vs redraw"
DEMO_BUDGET_S = 180.0  # the demo world must render within 3 minutes on 2 cores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clips", type=int, default=12, help="clips to render and encode (default 12)")
    parser.add_argument(
        "--redraw-clips", type=int, default=2, help="clips drawn by the naive redraw-every-frame renderer (default 2)"
    )


def _spread(specs: list, n: int) -> list:
    """``n`` clips spread over the world's scene types (the world lists them grouped by scene)."""
    step = max(1, len(specs) // max(n, 1))
    return specs[::step][:n]


def _redraw_seconds(spec, world) -> float:
    """Drawing time when every visible sprite is drawn anew for every frame (the alternative)."""
    rng = np.random.default_rng(spec.seed)
    start = time.perf_counter()
    frame = np.zeros((world.height, world.width, 3), np.float32)
    for _ in range(world.n_frames()):
        frame[:] = 0
        for name in spec.classes:
            sprite = draw_sprite(
                name, world.height // 3, 1.0, rng.uniform(-1, 1) * world.rotation_deg, world.colour_jitter, rng
            )
            h, w = (min(a, b) for a, b in zip(sprite.alpha.shape[:2], frame.shape[:2]))
            a = sprite.alpha[:h, :w]
            frame[:h, :w] = frame[:h, :w] * (1 - a) + sprite.rgb[:h, :w] * a
    return time.perf_counter() - start


def run(params: Params, args) -> dict:
    world, encode = params.world, params.media.encode
    specs = _spread(clip_specs(world), args.clips)
    if not specs:
        raise ValueError("world has no clips: every count in world.counts is 0")
    fingerprint = world_fingerprint(world, encode)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in tqdm(specs, desc="bench world", unit="clip"):
            s = write_clip(spec, world, encode, Path(tmp), fingerprint)
            rows.append(
                {
                    "clip_id": spec.clip_id,
                    "objects": len(spec.classes),
                    "audio_s": s["audio"],
                    "drawing_s": s["drawing"],
                    "encoding_s": s["encoding"],
                    "cpu_s": s["cpu"] + s["encoder_cpu"],
                }
            )
    cpu = sum(r["cpu_s"] for r in rows)
    stages = {k: sum(r[f"{k}_s"] for r in rows) for k in ("audio", "drawing", "encoding")}
    total = sum(stages.values())
    redraw_specs = specs[: args.redraw_clips]
    ours = [render_clip(spec, world).seconds["drawing"] for spec in redraw_specs]
    naive = [_redraw_seconds(spec, world) for spec in redraw_specs]
    n_demo = sum(getattr(params.world.counts.demo, split).total() for split in ("train", "val", "test"))
    demo_estimate = n_demo * cpu / len(rows) / 2
    summary = {
        "clip_seconds_per_cpu_second": len(rows) * world.duration_s / cpu,
        "cpu_s_per_clip": cpu / len(rows),
        "share_audio": stages["audio"] / total,
        "share_drawing": stages["drawing"] / total,
        "share_encoding": stages["encoding"] / total,
        "drawing_speedup_vs_redraw": (sum(naive) / sum(ours)) if ours else float("nan"),
        "demo_clips": n_demo,
        "demo_estimate_s_on_2_cores": demo_estimate,
        "demo_within_budget": demo_estimate <= DEMO_BUDGET_S,
    }
    return {
        "description": (
            f"{len(rows)} clips of {world.duration_s:g} s at {world.width}x{world.height}, "
            f"{world.fps:g} fps, encoded with x264 preset {encode.preset} ({encode.threads} "
            "thread) + AAC; CPU = this process + ffmpeg. Redraw = every sprite drawn every frame."
        ),
        "rows": rows,
        "summary": summary,
    }
