"""What the networks see: frames scaled or cropped, augmented and normalised with ImageNet statistics (DSOL,
MSSL, pre-training, and any method whose vision ResNet-18 starts from ``backbones.visual_weights``), and the
log-mel of each method's own front end (``<method>.inputs``, :mod:`avsep.config.inputs`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from avsep.config import derive
from avsep.features import logmel_torch, preset, resample
from avsep.features.frontend import FrontEnd
from avsep.shards.views import batch_sample_rate

# ImageNet statistics: the papers' frames are normalised with them (ResNet-18 convention).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# DSOL §4.2 (and its released code): frames resized to 256 x 256, then a 224 x 224 crop.
CROP_FRACTION = 224 / 256


def crop_frames(x: torch.Tensor, size: int, train: bool) -> torch.Tensor:
    """``x: (B, C, H, W) float`` -> ``(B, C, size, size)``: scaled to ``size / CROP_FRACTION`` a side (a stored
    256-px frame as it is, for size 224), then a random ``size`` crop per sample (``train``, offsets from torch's
    global generator) or the centre crop."""
    side = round(size / CROP_FRACTION)
    if x.shape[-2:] != (side, side):
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    if not train:
        top = (side - size) // 2
        return x[..., top : top + size, top : top + size]
    offsets = torch.randint(0, side - size + 1, (x.shape[0], 2)).tolist()
    return torch.stack([x[i, :, t : t + size, u : u + size] for i, (t, u) in enumerate(offsets)])


def frames_to_input(
    frame: torch.Tensor, size: int, augment: bool = False, jitter: float = 0.0, crop: bool = False
) -> torch.Tensor:
    """``frame: (B, 3, H, W) uint8`` -> ``(B, 3, size, size) float`` normalised with ImageNet statistics.

    The whole frame resized to ``size``, or with ``crop`` a crop of it (:func:`crop_frames`: random when
    ``augment``, else the centre). augment: a random horizontal flip and a brightness factor
    ~ U(1 - jitter, 1 + jitter) per sample, drawn from torch's global generator (the trainer seeds it and
    restores it on resume).
    """
    if frame.ndim != 4 or frame.shape[1] != 3:
        raise ValueError(f"frame: expected (B, 3, H, W), got shape {tuple(frame.shape)}")
    x = frame.float() / 255.0
    if crop:
        x = crop_frames(x, size, train=augment)
    elif x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if augment:
        flip = torch.rand(x.shape[0], device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if jitter > 0:
            gain = 1.0 + (torch.rand(x.shape[0], device=x.device) * 2 - 1) * jitter
            x = (x * gain[:, None, None, None]).clamp(0, 1)
    return imagenet_normalise(x)


def imagenet_normalise(x: torch.Tensor) -> torch.Tensor:
    """``x: (B, 3, H, W) float in [0, 1]`` -> ``(x - mean) / std`` with ImageNet's per-channel statistics."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD, device=x.device)[None, :, None, None]
    return (x - mean) / std


@dataclass(frozen=True)
class MethodInputs:
    """A method's ``inputs`` section resolved for the active profile (:func:`method_inputs`)."""

    crop: bool  # frames: crop (True) or resize
    image_size: int
    front_end: str  # "stored" or an avsep.features preset
    window_s: float | None  # None: shards.localization.window_s
    batch_size: int
    windows_per_clip: int | None  # None: shards.localization.windows_per_clip

    @property
    def with_logmel(self) -> bool:
        """Whether batches need the stored log-mel (else the views skip decoding it)."""
        return self.front_end == "stored"

    def logmel(self, batch: dict) -> torch.Tensor:
        """``(B, 1, T, F)`` of this front end (:func:`batch_logmel`)."""
        return batch_logmel(batch, self.front_end)


def batch_logmel(batch: dict, front_end: str) -> torch.Tensor:
    """``(B, 1, T, F)``: with ``front_end="stored"`` the batch's stored ``logmel``; else that
    :mod:`avsep.features` preset computed from the batch's ``audio: (B, S)`` (at its ``sample_rate``, resampled
    to the preset's rate), batched, on the audio's device."""
    if front_end == "stored":
        return batch["logmel"]
    frontend: FrontEnd = preset(front_end)
    waves = resample(batch["audio"], batch_sample_rate(batch), frontend.sample_rate)
    return logmel_torch(waves, frontend)[:, None]


def method_inputs(params, name: str) -> MethodInputs:
    """``params.<name>.inputs`` for ``params.profile``, nulls filled from the profile."""
    section, profile = getattr(params, name).inputs, params.profile
    settings = params.active_profile()
    return MethodInputs(
        crop=section.frames.get(profile) == "crop",
        image_size=section.image_size.get(profile) or settings.image_size,
        front_end=section.front_end.get(profile),
        window_s=section.window_s.get(profile),
        batch_size=section.batch_size.get(profile) or settings.batch_size,
        windows_per_clip=section.windows_per_clip.get(profile),
    )


def inputs_evaluation_params(params, name: str):
    """``params`` with the localization window the method trained on (``<name>.inputs.window_s``), so its
    evaluation views give it as much audio; unchanged when that is null (the demo)."""
    window_s = method_inputs(params, name).window_s
    if window_s is None:
        return params
    return derive(params, {"shards.localization.window_s": window_s})
