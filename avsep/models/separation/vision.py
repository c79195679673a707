"""Sound of Pixels' visual network: frames of a component video → K channels in [0, 1].

ResNet-18 with the last stage at stride 1 (total stride 16, SoP's "dilated" ResNet), then a 3×3 convolution to
K channels. With ``dilated`` (the paper profile) the last stage's 3×3 convolutions after its first are dilated
by 2, as SoP's code does to the ImageNet ResNet, so they keep the receptive field the removed stride gave;
without it (the demo) the last stage sees a smaller one. Dilation changes no weight's shape: the same
pre-trained backbone loads either way. Pooling decides the guidance: spatio-temporal max pooling of the whole
frame (SoP), or pooling weighted by a localization map (MSSL §3.3, the localized object's feature); a sigmoid
follows either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.models.common.backbones import ResNet18

DILATED_STRIDES = (1, 2, 2, 1)  # stride 16: SoP keeps a 14×14 map at 224 px
# ImageNet statistics: the normalisation SoP applies to frames (a property of the data convention, not tuned).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalise_frames(frames: torch.Tensor, size: int, flip: torch.Tensor | None = None) -> torch.Tensor:
    """``(..., 3, H, W) uint8`` → ``(..., 3, size, size)`` float, ImageNet-normalised (bilinear resize).

    flip: optional bool tensor broadcastable to the leading dims; True rows are flipped horizontally.
    """
    lead = frames.shape[:-3]
    x = frames.reshape(-1, *frames.shape[-3:]).float().div_(255.0)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device)[:, None, None]
    x = ((x - mean) / std).reshape(*lead, 3, size, size)
    if flip is not None:
        flip = flip.reshape(*flip.shape, *([1] * (x.dim() - flip.dim())))
        x = torch.where(flip, x.flip(-1), x)
    return x


def dilate_last_stage(backbone: ResNet18, dilation: int = 2) -> None:
    """SoP's dilated ResNet-18 (its ``_nostride_dilate`` with dilate 2 on layer 4): the 3×3 convolution that had
    the stride keeps dilation 1 (``dilation // 2``), every other 3×3 convolution of the stage gets ``dilation``
    with the padding that keeps the map's size. ``backbone`` must already run its last stage at stride 1."""
    stage = backbone.layers[-1]
    first = next(iter(stage.children()))
    strided = first.conv1
    if strided.stride != (1, 1):
        raise ValueError(f"dilate_last_stage: the last stage runs at stride {strided.stride}, expected (1, 1)")
    for module in stage.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3) and module is not strided:
            module.dilation, module.padding = (dilation, dilation), (dilation, dilation)


class VisionNet(nn.Module):
    """Frames ``(B, N, F, 3, H, W)`` normalised → per-position channels ``(B, N, F, K, h, w)`` (no activation)."""

    def __init__(self, width: int, channels: int, dilated: bool = False):
        super().__init__()
        self.backbone = ResNet18(3, width, DILATED_STRIDES)
        if dilated:
            dilate_last_stage(self.backbone)
        self.head = nn.Conv2d(self.backbone.out_channels, channels, 3, padding=1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        lead = frames.shape[:-3]
        feats = self.head(self.backbone(frames.reshape(-1, *frames.shape[-3:])))
        return feats.reshape(*lead, *feats.shape[1:])


def max_pool_guidance(feats: torch.Tensor) -> torch.Tensor:
    """SoP: spatio-temporal max pool then sigmoid: ``(B, N, F, K, h, w)`` → ``(B, N, K)``."""
    return torch.sigmoid(feats.amax(dim=(2, 4, 5)))


def object_pool_guidance(feats: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """MSSL §3.3 (weighted pooling as its Eq. 5): feature of the localized object, max over frames, sigmoid.

    feats: ``(B, N, F, K, h, w)``; maps: ``(B, N, F, H', W')`` non-negative localization maps (any size,
    resized bilinearly to h×w, normalised to sum 1 per frame; an all-zero map pools uniformly) → ``(B, N, K)``.
    """
    b, n, f, k, h, w = feats.shape
    m = (
        F.interpolate(
            maps.reshape(b * n * f, 1, *maps.shape[-2:]).to(feats.dtype),
            size=(h, w),
            mode="bilinear",
            align_corners=False,
        )
        .clamp_(min=0)
        .reshape(b, n, f, 1, h * w)
    )
    total = m.sum(-1, keepdim=True)
    m = torch.where(total > 0, m / total.clamp(min=torch.finfo(m.dtype).tiny), torch.full_like(m, 1.0 / (h * w)))
    pooled = (feats.reshape(b, n, f, k, h * w) * m).sum(-1)  # (B, N, F, K)
    return torch.sigmoid(pooled.amax(dim=2))
