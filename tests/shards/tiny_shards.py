"""Tiny shard sets built on the fly with avsep's own writer: random frames, audio and log-mel."""

from __future__ import annotations

import numpy as np

from avsep.config.shards import ShardParams
from avsep.shards import ShardWriter, encode_sample
from avsep.shards.codec import FramesLayout

RATE = 8000  # small, so a 2-second clip is cheap
FPS = 4.0
SECONDS = 2
HOP = 80
SIZE = 16


def clip_arrays(index: int) -> dict:
    """A deterministic random clip: frames (8, 16, 16, 3) uint8, audio (16000,), logmel (201, 8)."""
    rng = np.random.default_rng(index)
    return {
        "frames": rng.integers(0, 256, (int(SECONDS * FPS), SIZE, SIZE, 3), dtype=np.uint8),
        "audio": (rng.uniform(-0.5, 0.5, SECONDS * RATE)).astype(np.float32),
        "logmel": rng.normal(size=(SECONDS * RATE // HOP + 1, 8)).astype(np.float32),
    }


def clip_members(
    key: str, index: int, label: str = "cello", frames_layout: FramesLayout = "per_frame"
) -> dict[str, bytes]:
    arrays = clip_arrays(index)
    meta = {
        "clip_id": key,
        "labels": [label],
        "n_sources": 1,
        "fps": FPS,
        "sample_rate": RATE,
        "duration_s": float(SECONDS),
        "size": [SIZE, SIZE],
        "split": "train",
    }
    return encode_sample(key, arrays["frames"], arrays["audio"], RATE, arrays["logmel"], meta, 90, frames_layout)


def write_set(
    directory, n_clips: int, per_shard: int, split: str = "train", frames_layout: FramesLayout = "per_frame"
) -> list[str]:
    """Write ``n_clips`` clips (keys ``clip-000`` ...) into shards of ``per_shard``, their frames in
    ``frames_layout``; returns the keys."""
    keys = [f"clip-{i:03d}" for i in range(n_clips)]
    labels = ["cello", "flute", "tuba", "violin"]
    with ShardWriter(directory, split, max_samples=per_shard) as writer:
        for i, key in enumerate(keys):
            writer.write(key, clip_members(key, i, labels[i % len(labels)], frames_layout))
    return keys


def small_params(**changes) -> ShardParams:
    """Small buffers, no workers unless a test asks."""
    return ShardParams(**{"workers": 0, "shuffle_buffer": 8, **changes})
