"""What the ImageNet-style vision networks see (DSOL, MSSL, pre-training, and any method whose vision ResNet-18
starts from ``backbones.visual_weights``): frames scaled, augmented and normalised with ImageNet statistics."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ImageNet statistics: the papers' frames are normalised with them (ResNet-18 convention).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def frames_to_input(frame: torch.Tensor, size: int, augment: bool = False, jitter: float = 0.0) -> torch.Tensor:
    """``frame: (B, 3, H, W) uint8`` -> ``(B, 3, size, size) float`` normalised with ImageNet statistics.

    augment: a random horizontal flip and a brightness factor ~ U(1 - jitter, 1 + jitter) per sample, drawn
    from torch's global generator (the trainer seeds it and restores it on resume).
    """
    if frame.ndim != 4 or frame.shape[1] != 3:
        raise ValueError(f"frame: expected (B, 3, H, W), got shape {tuple(frame.shape)}")
    x = frame.float() / 255.0
    if x.shape[-2:] != (size, size):
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
