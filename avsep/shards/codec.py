"""Member codecs of a shard sample: bytes that are identical for identical inputs, and their inverses.

A sample is a mapping ``member name -> bytes``; the tar writer stores ``{key}.{name}``. Names follow the
shard contract (docs/contracts.md): ``000.jpg`` ... (frames), ``wav`` (mono 16-bit PCM), ``logmel.npy``
(float32 ``(T, F)``), ``json`` (metadata, sorted keys).
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

# Fixed JPEG settings so that the same pixels always give the same bytes (with the pinned Pillow/libjpeg).
_JPEG_SUBSAMPLING = "4:2:0"
_PCM_WIDTH = 2  # bytes per sample: 16-bit PCM
_PCM_SCALE = 32767.0  # int16 full scale; audio is clipped to [-1, 1] first


class SampleFormatError(ValueError):
    """An array or value cannot be stored as a shard member; the message names the key and member."""


def frame_name(index: int, prefix: str = "") -> str:
    """Member name of frame ``index``: ``000.jpg``, or ``src0.000.jpg`` with ``prefix="src0"``."""
    return f"{prefix}.{index:03d}.jpg" if prefix else f"{index:03d}.jpg"


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """``frame: (H, W, 3) uint8`` -> baseline JPEG bytes with fixed quality and subsampling."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise SampleFormatError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    buf = io.BytesIO()
    Image.fromarray(frame, mode="RGB").save(
        buf, format="JPEG", quality=int(quality), subsampling=_JPEG_SUBSAMPLING, optimize=False, progressive=False
    )
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> ``(H, W, 3) uint8``."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def encode_wav(audio: np.ndarray, sample_rate: int) -> bytes:
    """``audio: (N,) float`` in [-1, 1] (clipped) -> mono 16-bit PCM WAV bytes."""
    if audio.ndim != 1:
        raise SampleFormatError(f"audio must be mono (N,), got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise SampleFormatError("audio contains NaN or inf")
    pcm = np.round(np.clip(audio, -1.0, 1.0) * _PCM_SCALE).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(_PCM_WIDTH)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """WAV bytes (mono 16-bit PCM) -> ``(audio (N,) float32 in [-1, 1], sample_rate)``."""
    with wave.open(io.BytesIO(data), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != _PCM_WIDTH:
            raise SampleFormatError(
                f"wav: expected mono 16-bit PCM, got {src.getnchannels()} channels, {8 * src.getsampwidth()} bit"
            )
        rate = src.getframerate()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / _PCM_SCALE), rate


def encode_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def decode_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(meta: Mapping[str, Any]) -> bytes:
    """Metadata -> compact UTF-8 JSON with sorted keys (NumPy scalars and arrays become lists/numbers)."""
    try:
        text = json.dumps(
            meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise SampleFormatError(f"json: {exc}") from None
    return text.encode("utf-8")


def decode_json(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"))


def encode_sample(
    key: str,
    frames: np.ndarray,
    audio: np.ndarray,
    sample_rate: int,
    logmel: np.ndarray | None,
    meta: Mapping[str, Any],
    jpeg_quality: int,
) -> dict[str, bytes]:
    """One clip -> its shard members (name -> bytes), per the shard contract.

    ``frames: (T, H, W, 3) uint8``, ``audio: (N,) float32`` mono in [-1, 1] at ``sample_rate``,
    ``logmel: (T', F) float32`` or None (member omitted), ``meta``: JSON-able mapping. Raises
    :class:`SampleFormatError` naming ``key`` and the member when an input has the wrong shape or type.
    """
    try:
        if frames.ndim != 4:
            raise SampleFormatError(f"frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
        members = {frame_name(i): encode_jpeg(frame, jpeg_quality) for i, frame in enumerate(frames)}
        members["wav"] = encode_wav(audio, sample_rate)
        if logmel is not None:
            if logmel.ndim != 2:
                raise SampleFormatError(f"logmel must be (T, F), got shape {logmel.shape}")
            members["logmel.npy"] = encode_npy(logmel.astype(np.float32, copy=False))
        members["json"] = encode_json(meta)
    except SampleFormatError as exc:
        raise SampleFormatError(f"sample {key!r}: {exc}") from None
    return members
