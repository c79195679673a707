"""Member codecs of a shard sample: bytes that are identical for identical inputs, and their inverses.

A sample is a mapping ``member name -> bytes``; the tar writer stores ``{key}.{name}``. Names follow the
shard contract (docs/contracts.md): the frames, ``wav`` (mono 16-bit PCM), ``logmel.npy`` (float32 ``(T, F)``),
``json`` (metadata, sorted keys).

A clip's frames are stored in one of two layouts (``shards.frames_layout``; readers detect it per sample):
``per_frame``, one member per frame (``000.jpg``, ``001.jpg``, ...), or ``packed``, one member ``frames.jpgs``
holding the JPEGs back to back, with each JPEG's length in bytes, in order, in the json's ``frame_bytes``.
Packed samples of clips of different lengths have the same member names, which readers that take a sample's
columns from its member names (Hugging Face ``datasets``) need, and cost one tar member instead of one per frame.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from PIL import Image

# Fixed JPEG settings so that the same pixels always give the same bytes (with the pinned Pillow/libjpeg).
_JPEG_SUBSAMPLING = "4:2:0"
_PCM_WIDTH = 2  # bytes per sample: 16-bit PCM
_PCM_SCALE = 32767.0  # int16 full scale; audio is clipped to [-1, 1] first
_JPEG_SOI = b"\xff\xd8"  # every JPEG starts with its start-of-image marker

FramesLayout = Literal["per_frame", "packed"]
FRAMES_LAYOUTS: tuple[str, ...] = ("per_frame", "packed")
PACKED_FRAMES = "frames.jpgs"  # the packed layout's member: every frame's JPEG, back to back
FRAME_BYTES = "frame_bytes"  # the json key of the packed layout: each JPEG's length in bytes, in frame order


class SampleFormatError(ValueError):
    """An array or value cannot be stored as a shard member; the message names the key and member."""


def frame_name(index: int, prefix: str = "") -> str:
    """Member name of frame ``index``: ``000.jpg``, or ``src0.000.jpg`` with ``prefix="src0"``."""
    return f"{prefix}.{index:03d}.jpg" if prefix else f"{index:03d}.jpg"


def pack_jpegs(jpegs: Sequence[bytes]) -> tuple[bytes, list[int]]:
    """JPEGs -> ``(their bytes back to back, each one's length)``: the packed layout's member and json list."""
    return b"".join(jpegs), [len(data) for data in jpegs]


def packed_spans(blob: bytes, lengths: Any) -> list[tuple[int, int]]:
    """``(start, end)`` of each JPEG in a packed member, from ``lengths`` (the json's ``frame_bytes``), without
    copying any. Raises :class:`SampleFormatError` saying why when the lengths are not positive integers, do
    not add up to the member's size, or a cut does not start a JPEG (lengths of another sample, or a damaged
    member)."""
    if not isinstance(lengths, list) or not lengths:
        raise SampleFormatError(f"{FRAME_BYTES}: expected a non-empty list of JPEG lengths, got {lengths!r:.80}")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths):
        raise SampleFormatError(f"{FRAME_BYTES}: every JPEG length must be a positive integer, got {lengths!r:.80}")
    if sum(lengths) != len(blob):
        raise SampleFormatError(
            f"{PACKED_FRAMES} holds {len(blob)} bytes but {FRAME_BYTES} adds up to {sum(lengths)} "
            f"({len(lengths)} frames)"
        )
    spans, start = [], 0
    for index, length in enumerate(lengths):
        if blob[start : start + 2] != _JPEG_SOI:
            raise SampleFormatError(f"{PACKED_FRAMES}: frame {index} at byte {start} does not start a JPEG")
        spans.append((start, start + length))
        start += length
    return spans


def unpack_jpegs(blob: bytes, lengths: Any) -> list[bytes]:
    """The JPEGs of a packed member, cut at ``lengths`` (the json's ``frame_bytes``; :func:`packed_spans`)."""
    return [blob[start:end] for start, end in packed_spans(blob, lengths)]


def frame_jpegs(members: Mapping[str, bytes], meta: Mapping[str, Any]) -> list[bytes]:
    """The JPEG bytes of every stored frame of a clip sample, in order, whichever its layout: ``frames.jpgs``
    cut at ``meta["frame_bytes"]`` (packed), else ``000.jpg``, ``001.jpg``, ... (per frame; they must be
    contiguous from ``000``). ``members``: member name (without the key) -> bytes; ``meta``: its decoded json.
    Raises :class:`SampleFormatError` naming the reason."""
    if PACKED_FRAMES in members:
        return unpack_jpegs(members[PACKED_FRAMES], meta.get(FRAME_BYTES))
    names = sorted(
        (name for name in members if name.endswith(".jpg") and name[:-4].isdigit()), key=lambda n: int(n[:-4])
    )
    if not names:
        raise SampleFormatError(f"no frames: neither {PACKED_FRAMES} nor NNN.jpg members")
    if names != [frame_name(i) for i in range(len(names))]:
        raise SampleFormatError("frames NNN.jpg are not contiguous from 000")
    return [members[name] for name in names]


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
    frames_layout: FramesLayout = "per_frame",
) -> dict[str, bytes]:
    """One clip -> its shard members (name -> bytes), per the shard contract.

    ``frames: (T, H, W, 3) uint8``, ``audio: (N,) float32`` mono in [-1, 1] at ``sample_rate``,
    ``logmel: (T', F) float32`` or None (member omitted), ``meta``: JSON-able mapping. ``frames_layout``:
    ``per_frame`` (``000.jpg`` ...) or ``packed`` (``frames.jpgs``, lengths in the json's ``frame_bytes``;
    the module docstring). Raises :class:`SampleFormatError` naming ``key`` and the member when an input has the
    wrong shape or type.
    """
    try:
        if frames.ndim != 4:
            raise SampleFormatError(f"frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
        jpegs = [encode_jpeg(frame, jpeg_quality) for frame in frames]
        members = {"wav": encode_wav(audio, sample_rate)}
        if logmel is not None:
            if logmel.ndim != 2:
                raise SampleFormatError(f"logmel must be (T, F), got shape {logmel.shape}")
            members["logmel.npy"] = encode_npy(logmel.astype(np.float32, copy=False))
        return clip_members(jpegs, members, meta, frames_layout)
    except SampleFormatError as exc:
        raise SampleFormatError(f"sample {key!r}: {exc}") from None


def clip_members(
    jpegs: Sequence[bytes], others: Mapping[str, bytes], meta: Mapping[str, Any], frames_layout: FramesLayout
) -> dict[str, bytes]:
    """The members of a clip sample from its encoded frames (``jpegs``, in order), its other encoded members
    (``others``: ``wav``, ``logmel.npy``) and its metadata, with the frames in ``frames_layout``: ``NNN.jpg``
    members, or ``frames.jpgs`` with ``frame_bytes`` added to the json. Raises :class:`SampleFormatError`."""
    if frames_layout not in FRAMES_LAYOUTS:
        raise SampleFormatError(f"frames_layout {frames_layout!r}: expected one of {FRAMES_LAYOUTS}")
    if FRAME_BYTES in meta:
        raise SampleFormatError(f"json: {FRAME_BYTES!r} is the packed layout's own key, not metadata")
    members = dict(others)
    if frames_layout == "packed":
        if not jpegs:
            raise SampleFormatError("frames: a packed sample needs at least one frame")
        members[PACKED_FRAMES], lengths = pack_jpegs(jpegs)
        meta = {**meta, FRAME_BYTES: lengths}
    else:
        members.update((frame_name(i), data) for i, data in enumerate(jpegs))
    members["json"] = encode_json(meta)
    return members
