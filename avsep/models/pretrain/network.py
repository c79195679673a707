"""The pre-training network: the two-stream ResNet-18s, each pooled into a multi-label classifier."""

from __future__ import annotations

import torch
from torch import nn

from avsep.models.common.classes import CLASSES, classes_of
from avsep.models.common.inputs import frames_to_input
from avsep.models.common.streams import TwoStream


class Backbones(TwoStream):
    """``forward(frames (B, 3, H, W) uint8, logmel (B, 1, T, F))`` → class logits (one per class, multi-label)
    ``(vision (B, K), audio (B, K))``: the two-stream ResNet-18s of DMC/CAVL, each global-average-pooled into a
    linear classifier over the dataset's ``n_classes`` classes (frames normalised with ImageNet statistics, as
    DSOL's and MSSL's, like the papers' pre-trained nets)."""

    def __init__(self, width: int, image_size: int, n_classes: int = len(CLASSES)):
        super().__init__(width, image_size)
        self.vision_head = nn.Linear(self.vision.out_channels, n_classes)
        self.audio_head = nn.Linear(self.audio.out_channels, n_classes)

    def forward(
        self, frames: torch.Tensor, logmel: torch.Tensor, augment: bool = False, jitter: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames_to_input(frames, self.image_size, augment, jitter)
        vision = self.vision_head(self.vision(x).mean((2, 3)))
        audio = self.audio_head(self.audio(self.audio_norm(logmel.float())).mean((2, 3)))
        return vision, audio


def build(params) -> Backbones:
    profile = params.active_profile()
    return Backbones(profile.backbone_width, profile.image_size, len(classes_of(params)))
