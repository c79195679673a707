"""The two-stream audiovisual network shared by DMC, CAVL and the counter: a vision and an audio ResNet-18.

Strides (1, 2, 2, 1) keep the papers' map sizes: 224 px frames → 14×14, a 201×64 log-mel → 13×4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.models.common.backbones import ResNet18
from avsep.models.common.inputs import crop_frames, imagenet_normalise

STRIDES = (1, 2, 2, 1)
UINT8_MAX = 255.0


def prepare_frames(
    frames: torch.Tensor, size: int, imagenet: bool = False, crop: bool = False, train: bool = False
) -> torch.Tensor:
    """``(B, 3, H, W)`` uint8 (or float in [0, 1]) → ``(B, 3, size, size)`` float in [−1, 1].

    DMC scales pixels to [−1, 1] so that they have a scale comparable to the log-mel input. ``imagenet``: the
    ImageNet normalisation instead, for a vision net that starts from ImageNet weights (``backbones``).
    The whole frame is resized to ``size``; with ``crop``, a crop of it (:func:`crop_frames`), random and
    flipped half the time when ``train``, the centre crop otherwise (draws from torch's global generator).
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames: expected (B, 3, H, W), got shape {tuple(frames.shape)}")
    x = frames.float() / UINT8_MAX if frames.dtype == torch.uint8 else frames.float()
    if crop:
        x = crop_frames(x, size, train)
        if train:
            flip = torch.rand(x.shape[0]) < 0.5
            x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)
    elif x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return imagenet_normalise(x) if imagenet else x * 2.0 - 1.0


class TwoStream(nn.Module):
    """``frames (B, 3, H, W), logmel (B, 1, T, F)`` → ``visual (B, C, h, w), audio (B, C, t, f)``, C = 8·width.

    The log-mel (dB values) is standardised by a BatchNorm over its single channel before the audio net.
    ``imagenet_frames``: frames normalised with ImageNet statistics (:func:`prepare_frames`), set when the vision
    net starts from ImageNet weights. ``crop``: frames cropped rather than resized (random crops and flips while
    the module is training, the centre crop in eval mode).
    """

    def __init__(self, width: int, image_size: int, imagenet_frames: bool = False, crop: bool = False):
        super().__init__()
        self.image_size, self.imagenet_frames, self.crop = image_size, imagenet_frames, crop
        self.vision = ResNet18(3, width, STRIDES)
        self.audio_norm = nn.BatchNorm2d(1)
        self.audio = ResNet18(1, width, STRIDES)
        self.channels = self.vision.out_channels

    def forward(self, frames: torch.Tensor, logmel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if logmel.ndim != 4 or logmel.shape[1] != 1:
            raise ValueError(f"logmel: expected (B, 1, T, F), got shape {tuple(logmel.shape)}")
        x = prepare_frames(frames, self.image_size, self.imagenet_frames, self.crop, train=self.training)
        return self.vision(x), self.audio(self.audio_norm(logmel))
