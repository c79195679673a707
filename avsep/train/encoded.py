"""Encoded sample data a loader ships for the training step to decode on its own device.

With ``shards.decode_device`` set, the training views leave a sample's JPEG frames and 16-bit PCM encoded
(:class:`EncodedFrames`, :class:`EncodedPcm`): the loader workers then only cut windows and pass bytes, and a
batch's field becomes a list of these items, one per sample (list-valued fields survive every row selection
and merge of :mod:`avsep.shards.batching` unchanged). :func:`decode_items` turns such a list into the tensor
the views give without it, decoding the whole batch in one call: on CUDA that is one batched nvJPEG call
(torchvision); on the CPU the same torchvision decoder the workers use, so the pixels are the same.
:func:`avsep.train.to_device` calls it where a batch is moved to the training device.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch


class CorruptFrames(ValueError):
    """Some samples of a batch hold JPEG frames whose headers read but whose data does not decode: ``rows`` are
    their indices in the batch of ``batch_size``, ``reasons`` one message per bad frame, naming its member."""

    def __init__(self, rows: list[int], batch_size: int, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.rows, self.batch_size, self.reasons = rows, batch_size, reasons


class EncodedItem:
    """Base of the per-sample encoded fields: ``decode_items(list of one subclass, device)``."""

    decode_device: str  # "cpu" or "cuda": where the batch is decoded (shards.decode_device)


@dataclass(frozen=True)
class EncodedFrames(EncodedItem):
    """One sample's frames as JPEG bytes: ``len(jpegs) == prod(shape)``, row-major; decoded to
    ``(*shape, 3, H, W) uint8`` (``shape == ()``: one frame ``(3, H, W)``). ``where`` names each member for
    errors, ``size`` is the ``(H, W)`` every frame has (read from the JPEG headers in the worker)."""

    jpegs: tuple[bytes, ...]
    shape: tuple[int, ...]
    where: tuple[str, ...]
    size: tuple[int, int]
    decode_device: str = "cpu"

    @staticmethod
    def stacked(items: list[EncodedFrames]) -> EncodedFrames:
        """``len(items)`` samples' frames as one: shape ``(len(items), *shape)`` (a mixture's components)."""
        first = items[0]
        for item in items[1:]:
            if item.shape != first.shape or item.size != first.size:
                raise ValueError(
                    f"{item.where[0]}: frames {item.shape} of {item.size} cannot be stacked with "
                    f"{first.where[0]}'s {first.shape} of {first.size}"
                )
        return EncodedFrames(
            tuple(j for item in items for j in item.jpegs),
            (len(items), *first.shape),
            tuple(w for item in items for w in item.where),
            first.size,
            first.decode_device,
        )


@dataclass(frozen=True)
class EncodedPcm(EncodedItem):
    """One sample's audio as 16-bit PCM ``(S,) int16``; decoded to ``(S,) float32`` ``pcm / scale``, one float32
    division per sample, the numbers the shards' WAV codec gives with its ``scale``."""

    pcm: np.ndarray
    scale: float
    decode_device: str = "cpu"


def jpeg_size(data: bytes) -> tuple[int, int]:
    """``(H, W)`` from a JPEG's header, without decoding it; ValueError when the bytes are no JPEG."""
    from PIL import Image

    if data[:2] != b"\xff\xd8":
        raise ValueError("no JPEG start-of-image marker")
    with Image.open(io.BytesIO(data)) as image:  # lazy: reads the markers up to the frame header only
        if image.format != "JPEG":
            raise ValueError(f"not a JPEG but {image.format}")
        width, height = image.size
    return height, width


def decode_items(items: list, device: torch.device) -> torch.Tensor:
    """A batch's list of :class:`EncodedFrames` -> ``(B, *shape, 3, H, W) uint8``, or of :class:`EncodedPcm`
    -> ``(B, S) float32``, on ``device``. Decoded on the items' ``decode_device``: ``cpu`` decodes here and
    moves the result, ``cuda`` decodes on ``device``, which must then be a CUDA device (the training step's:
    under DDP each rank's own GPU)."""
    wanted = items[0].decode_device
    if wanted == "cuda" and device.type != "cuda":
        raise ValueError(
            f"shards.decode_device is cuda but the batch goes to {device}: set shards.decode_device to cpu or null "
            "(or train on a GPU)"
        )
    at = device if wanted == "cuda" else torch.device("cpu")
    if isinstance(items[0], EncodedPcm):
        pcm = torch.from_numpy(np.stack([item.pcm for item in items]))
        return (pcm.to(at).float() / items[0].scale).to(device)
    return _decode_frames(items, at).to(device, non_blocking=device.type == "cuda")


def _decode_frames(items: list[EncodedFrames], at: torch.device) -> torch.Tensor:
    shape, size = items[0].shape, items[0].size
    for item in items:
        if item.shape != shape or item.size != size:
            raise ValueError(
                f"{item.where[0]}: frames {item.shape} of {item.size} in a batch of {shape} of {size} "
                "(a shard set mixes frame sizes?)"
            )
    from torchvision.io import ImageReadMode, decode_jpeg

    data = [torch.frombuffer(bytearray(j), dtype=torch.uint8) for item in items for j in item.jpegs]
    where = [w for item in items for w in item.where]
    images: list[torch.Tensor]
    try:
        images = cast(list[torch.Tensor], decode_jpeg(data, mode=ImageReadMode.RGB, device=at))  # a list in, a list out
    except RuntimeError:  # one image the batched decoder refuses: find it, decode the others one by one
        images, bad, reasons = [], set(), []
        per_item = len(data) // len(items)
        for index, (tensor, name) in enumerate(zip(data, where)):
            try:
                images.append(_decode_one(tensor, name, at))
            except ValueError as exc:
                bad.add(index // per_item)
                reasons.append(str(exc))
        if bad:
            raise CorruptFrames(sorted(bad), len(items), reasons) from None
    for image, name in zip(images, where):
        if tuple(image.shape[-2:]) != size:
            raise ValueError(f"{name}: decoded to {tuple(image.shape[-2:])}, its header says {size}")
    # Contiguous: the CPU decoder gives channels-last strides, on which torch 2.11's single-threaded CPU
    # convolutions corrupt the heap (avsep.shards.views.collate).
    return torch.stack(images).reshape(len(items), *shape, 3, *size).contiguous()


def _decode_one(data: torch.Tensor, where: str, at: torch.device) -> torch.Tensor:
    """One JPEG on ``at`` by torchvision, else by PIL on the CPU; ValueError naming ``where`` if neither can."""
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return cast(torch.Tensor, decode_jpeg(data, mode=ImageReadMode.RGB, device=at))
    except RuntimeError:
        pass
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data.numpy().tobytes())) as image:
            array = np.asarray(image.convert("RGB"))
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).to(at)
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for corrupt bytes
        raise ValueError(f"{where}: corrupt JPEG: {type(exc).__name__}: {exc}") from None
