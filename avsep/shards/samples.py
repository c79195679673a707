"""Decoding the members of one raw shard sample, checking that what a view needs is there.

Raw samples are webdataset dicts ``{"__key__", "__url__", member name: bytes}``. Every failure raises
:class:`~avsep.shards.skips.SampleError` naming the shard URL, the key and the reason, so the loader's
handler can log, count and skip it.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from avsep.shards.codec import decode_jpeg, decode_json, decode_npy, decode_wav
from avsep.shards.skips import SampleError

_FRAME_RE = re.compile(r"^(\d{3})\.jpg$")


def where(sample: dict) -> str:
    return f"{sample.get('__url__', '<stream>')}: sample {sample.get('__key__', '?')!r}"


def require(sample: dict, *names: str) -> None:
    missing = [name for name in names if name not in sample]
    if missing:
        raise SampleError(f"{where(sample)}: missing member(s) {missing}")


def decoded(sample: dict, name: str, decode):
    """``decode(sample[name])``, with a decoding failure turned into a :class:`SampleError`."""
    require(sample, name)
    try:
        return decode(sample[name])
    except Exception as exc:  # noqa: BLE001 - PIL, wave and numpy raise many types for corrupt bytes
        raise SampleError(f"{where(sample)}: member {name!r} is corrupt: {type(exc).__name__}: {exc}") from None


def meta(sample: dict) -> dict:
    return decoded(sample, "json", decode_json)


def audio(sample: dict, name: str = "wav") -> tuple[np.ndarray, int]:
    """``(audio (N,) float32, sample_rate)``."""
    return decoded(sample, name, decode_wav)


def logmel(sample: dict) -> np.ndarray:
    """``(T, F) float32``."""
    array = decoded(sample, "logmel.npy", decode_npy)
    if array.ndim != 2:
        raise SampleError(f"{where(sample)}: logmel.npy must be (T, F), got shape {array.shape}")
    return array.astype(np.float32, copy=False)


def frame_count(sample: dict, prefix: str = "") -> int:
    """Number of stored frames ``000.jpg`` ... (``src0.000.jpg`` ... with a prefix); they must be contiguous."""
    head = f"{prefix}." if prefix else ""
    indices = sorted(int(m.group(1)) for name in sample if name.startswith(head)
                     and (m := _FRAME_RE.match(name[len(head):])))
    if not indices:
        raise SampleError(f"{where(sample)}: no {head}NNN.jpg frames")
    if indices != list(range(len(indices))):
        raise SampleError(f"{where(sample)}: frames {head}NNN.jpg are not contiguous from 000")
    return len(indices)


def frame(sample: dict, index: int, prefix: str = "") -> np.ndarray:
    """Frame ``index``: ``(H, W, 3) uint8``."""
    name = f"{prefix}.{index:03d}.jpg" if prefix else f"{index:03d}.jpg"
    return decoded(sample, name, decode_jpeg)


def key_rng(seed: int, epoch: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``(seed, epoch, key)``: a sample's random window is the same
    whatever the worker/rank layout that reads it."""
    return np.random.default_rng([seed, epoch, zlib.crc32(key.encode("utf-8"))])
