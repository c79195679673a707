"""Decoding the members of one raw shard sample, checking that what a view needs is there.

Raw samples are webdataset dicts ``{"__key__", "__url__", member name: bytes}``. Every failure raises
:class:`~avsep.shards.skips.SampleError` naming the shard URL, the key and the reason, so the loader's
handler can log, count and skip it.
"""

from __future__ import annotations

import io
import re
import wave
import zlib

import numpy as np
import torch

from avsep.shards.codec import (
    _PCM_SCALE,
    _PCM_WIDTH,
    FRAME_BYTES,
    PACKED_FRAMES,
    SampleFormatError,
    decode_jpeg,
    decode_json,
    decode_npy,
    decode_wav,
    frame_name,
    packed_spans,
)
from avsep.shards.skips import SampleError

_FRAME_RE = re.compile(r"^(\d{3})\.jpg$")
# What a raw sample keeps once worked out, for the next caller on the same sample: its parsed json, and a packed
# sample's frame spans (a view asks for several frames of a clip).
_META, _SPANS = "__meta__", "__frame_spans__"


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
    """The sample's json, parsed once per raw sample (the packed frames' lengths are read from it too): read-only."""
    info = sample.get(_META)
    if info is None:
        info = sample[_META] = decoded(sample, "json", decode_json)
    return info


def audio(sample: dict, name: str = "wav") -> tuple[np.ndarray, int]:
    """``(audio (N,) float32, sample_rate)``."""
    return decoded(sample, name, decode_wav)


def pcm(sample: dict, name: str = "wav") -> tuple[np.ndarray, int]:
    """``(pcm (N,) int16, sample_rate)``, a read-only view of the member's bytes: only the WAV header is parsed,
    so a view converts just the window it uses (:func:`pcm_to_float`, the same numbers as :func:`audio`)."""
    require(sample, name)
    try:
        with wave.open(io.BytesIO(sample[name]), "rb") as src:
            if src.getnchannels() != 1 or src.getsampwidth() != _PCM_WIDTH:
                raise ValueError(
                    f"expected mono 16-bit PCM, got {src.getnchannels()} channels, {8 * src.getsampwidth()} bit"
                )
            return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2"), src.getframerate()
    except Exception as exc:  # noqa: BLE001 - wave raises several types for corrupt bytes
        raise SampleError(f"{where(sample)}: member {name!r} is corrupt: {type(exc).__name__}: {exc}") from None


def pcm_to_float(samples: np.ndarray) -> np.ndarray:
    """16-bit PCM ``(N,) int16`` -> ``(N,) float32`` in [-1, 1], exactly as the WAV codec decodes it."""
    return samples.astype(np.float32) / _PCM_SCALE


def logmel(sample: dict) -> np.ndarray:
    """``(T, F) float32``."""
    array = decoded(sample, "logmel.npy", decode_npy)
    if array.ndim != 2:
        raise SampleError(f"{where(sample)}: logmel.npy must be (T, F), got shape {array.shape}")
    return array.astype(np.float32, copy=False)


def _packed_spans(sample: dict) -> list[tuple[int, int]]:
    """``(start, end)`` of each frame's JPEG inside a packed sample's ``frames.jpgs``, from the json's
    ``frame_bytes``: checked once per sample, then kept in the raw sample."""
    spans = sample.get(_SPANS)
    if spans is None:
        try:
            spans = sample[_SPANS] = packed_spans(sample[PACKED_FRAMES], meta(sample).get(FRAME_BYTES))
        except SampleFormatError as exc:
            raise SampleError(f"{where(sample)}: {exc}") from None
    return spans


def frames_layout(sample: dict, prefix: str = "") -> str:
    """``"packed"`` when the sample keeps its frames in one ``frames.jpgs`` member, else ``"per_frame"``
    (``NNN.jpg`` members; frames under a prefix, ``src0.NNN.jpg``, are always per frame)."""
    return "packed" if not prefix and PACKED_FRAMES in sample else "per_frame"


def frame_count(sample: dict, prefix: str = "") -> int:
    """Number of stored frames, whichever the layout: the lengths in a packed sample's json, else the
    ``000.jpg`` ... members (``src0.000.jpg`` ... with a prefix), which must be contiguous."""
    if frames_layout(sample, prefix) == "packed":
        return len(_packed_spans(sample))
    head = f"{prefix}." if prefix else ""
    indices = sorted(
        int(m.group(1)) for name in sample if name.startswith(head) and (m := _FRAME_RE.match(name[len(head) :]))
    )
    if not indices:
        raise SampleError(f"{where(sample)}: no {head}NNN.jpg frames")
    if indices != list(range(len(indices))):
        raise SampleError(f"{where(sample)}: frames {head}NNN.jpg are not contiguous from 000")
    return len(indices)


def frame_jpeg(sample: dict, index: int, prefix: str = "") -> tuple[bytes, str]:
    """``(JPEG bytes, where)`` of stored frame ``index`` in either layout; ``where`` names the member (and, when
    packed, the frame) for errors. A packed frame is a copy of its slice: a window record keeps only it."""
    if frames_layout(sample, prefix) == "packed":
        spans = _packed_spans(sample)
        if not 0 <= index < len(spans):
            raise SampleError(f"{where(sample)}: frame {index} of {len(spans)} in {PACKED_FRAMES!r}")
        start, end = spans[index]
        return sample[PACKED_FRAMES][start:end], f"{where(sample)}: member {PACKED_FRAMES!r} frame {index}"
    name = frame_name(index, prefix)
    require(sample, name)
    return sample[name], f"{where(sample)}: member {name!r}"


def frame(sample: dict, index: int, prefix: str = "") -> np.ndarray:
    """Frame ``index``: ``(H, W, 3) uint8``."""
    data, where_ = frame_jpeg(sample, index, prefix)
    try:
        return decode_jpeg(data)
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for corrupt bytes
        raise SampleError(f"{where_} is corrupt: {type(exc).__name__}: {exc}") from None


_TORCHVISION: tuple = ()  # (decode_jpeg, ImageReadMode.RGB, .GRAY), imported on first use: torchvision takes seconds


def _torchvision_jpeg(data: bytes, grey: bool) -> torch.Tensor | None:
    """torchvision's decode of JPEG bytes to ``(3, H, W)`` or, with ``grey``, ``(1, H, W)`` uint8; None when
    torchvision refuses them (the callers then try PIL). torchvision is imported once per process."""
    global _TORCHVISION
    if not _TORCHVISION:
        from torchvision.io import ImageReadMode
        from torchvision.io import decode_jpeg as tv_decode_jpeg

        _TORCHVISION = (tv_decode_jpeg, ImageReadMode.RGB, ImageReadMode.GRAY)
    decode, rgb, gray = _TORCHVISION
    try:
        return decode(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=gray if grey else rgb)
    except RuntimeError:
        return None


def jpeg_chw(data: bytes, where_: str = "<bytes>") -> torch.Tensor:
    """JPEG bytes -> ``(3, H, W) uint8``, the pixels :func:`avsep.shards.codec.decode_jpeg` gives (both are
    libjpeg-turbo with default settings; ``tests/shards`` checks they agree) at about a third of the cost:
    torchvision decodes in C without PIL's Python-level marker parsing. Falls back to PIL for JPEGs
    torchvision refuses; raises :class:`SampleError` naming ``where_`` when neither can decode them."""
    decoded = _torchvision_jpeg(data, grey=False)
    if decoded is not None:
        return decoded
    try:
        return torch.from_numpy(np.ascontiguousarray(decode_jpeg(data).transpose(2, 0, 1)))
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for corrupt bytes
        raise SampleError(f"{where_}: corrupt JPEG: {type(exc).__name__}: {exc}") from None


def jpeg_grey(data: bytes, where_: str = "<bytes>") -> torch.Tensor:
    """JPEG bytes -> ``(1, H, W) uint8`` grey levels (libjpeg's luma; a colour JPEG's Y channel), by
    torchvision, or PIL where torchvision refuses; :class:`SampleError` naming ``where_`` when neither can."""
    decoded = _torchvision_jpeg(data, grey=True)
    if decoded is not None:
        return decoded
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return torch.from_numpy(np.asarray(image.convert("L")).copy())[None]
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for corrupt bytes
        raise SampleError(f"{where_}: corrupt JPEG: {type(exc).__name__}: {exc}") from None


def frame_chw(sample: dict, index: int, prefix: str = "") -> torch.Tensor:
    """Frame ``index`` as ``(3, H, W) uint8`` (:func:`jpeg_chw`), in either layout."""
    return jpeg_chw(*frame_jpeg(sample, index, prefix))


def encoded_frames(jpegs: list[tuple[bytes, str]], shape: tuple[int, ...], decode_device: str):
    """``(JPEG bytes, where)`` of a sample's frames left encoded for the training step to decode
    (``shards.decode_device``; :class:`avsep.train.encoded.EncodedFrames` of ``shape``). Only the headers are
    read here, so a member that is no JPEG, or frames of different sizes, still raise :class:`SampleError`
    naming the member in the loader, which skips the sample as it does any corrupt one."""
    from avsep.train.encoded import EncodedFrames, jpeg_size

    sizes = []
    for data, where_ in jpegs:
        try:
            sizes.append(jpeg_size(data))
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for corrupt bytes
            raise SampleError(f"{where_}: corrupt JPEG: {type(exc).__name__}: {exc}") from None
        if sizes[-1] != sizes[0]:
            raise SampleError(f"{where_}: frame of {sizes[-1]} beside frames of {sizes[0]}")
    return EncodedFrames(
        tuple(data for data, _ in jpegs), shape, tuple(where_ for _, where_ in jpegs), sizes[0], decode_device
    )


def encoded_pcm(pcm: np.ndarray, decode_device: str):
    """16-bit PCM ``(S,) int16`` left encoded for the training step (:class:`avsep.train.encoded.EncodedPcm`),
    which converts it as :func:`pcm_to_float` does."""
    from avsep.train.encoded import EncodedPcm

    return EncodedPcm(pcm, _PCM_SCALE, decode_device)


def member_jpeg(sample: dict, index: int, prefix: str = "") -> tuple[bytes, str]:
    """``(JPEG bytes, where)`` of frame ``index`` (:func:`frame_chw`'s member), for :func:`encoded_frames`."""
    name = f"{prefix}.{index:03d}.jpg" if prefix else f"{index:03d}.jpg"
    require(sample, name)
    return sample[name], f"{where(sample)}: member {name!r}"


def key_rng(seed: int, epoch: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``(seed, epoch, key)``: a sample's random window is the same
    whatever the worker/rank layout that reads it."""
    return np.random.default_rng([seed, epoch, zlib.crc32(key.encode("utf-8"))])
