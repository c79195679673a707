"""Sound of Pixels' audio U-Net: log-magnitude spectrogram → K feature channels of the same size.

Encoder: ``depth`` 4×4 stride-2 convolutions (LeakyReLU 0.2 + BatchNorm between), filters
``f, 2f, 4f, 8f, 8f, ...``; decoder: bilinear ×2 up-sampling + 3×3 convolution, concatenating the encoder
features of the same size (skip connections). The input is batch-normalised first, as in SoP.
"""

from __future__ import annotations

import torch
from torch import nn


def _filters(base: int, depth: int) -> list[int]:
    """Encoder output channels per level: base · 2^i, capped at 8 · base (SoP's ngf, 2ngf, 4ngf, 8ngf, 8ngf...)."""
    return [base * min(2**i, 8) for i in range(depth)]


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int, last: bool):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReLU(True),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=last),
        ]
        if not last:
            layers.append(nn.BatchNorm2d(c_out))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class AudioUNet(nn.Module):
    """``(B, 1, Fq, T)`` log magnitude → ``(B, K, Fq, T)`` audio channels, and the encoder features of
    ``class_level`` ``(B, C_l, Fq / 2^l, T / 2^l)`` for the class head. Fq and T must be divisible by 2^depth."""

    def __init__(self, base_filters: int, out_channels: int, depth: int = 7, class_level: int = 4):
        super().__init__()
        if depth < 2 or not 1 <= class_level <= depth:
            raise ValueError(f"AudioUNet: need depth >= 2 and 1 <= class_level <= depth, got {depth}, {class_level}")
        self.depth, self.class_level = depth, class_level
        widths = _filters(base_filters, depth)
        self.class_channels = widths[class_level - 1]
        self.input_norm = nn.BatchNorm2d(1)
        self.down = nn.ModuleList()
        for i, width in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(1 if i == 0 else widths[i - 1], width, 4, stride=2, padding=1, bias=False))
            if 0 < i < depth - 1:
                layers.append(nn.BatchNorm2d(width))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            c_in = widths[i] if i == depth - 1 else 2 * widths[i]
            last = i == 0
            self.up.append(_Up(c_in, out_channels if last else widths[i - 1], last))

    def forward(self, log_mag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        size = 2**self.depth
        if log_mag.dim() != 4 or log_mag.shape[1] != 1 or log_mag.shape[2] % size or log_mag.shape[3] % size:
            raise ValueError(
                f"log_mag: expected (B, 1, Fq, T) with Fq and T divisible by {size}, got {tuple(log_mag.shape)}"
            )
        x = self.input_norm(log_mag)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        class_features = skips[self.class_level - 1]
        x = self.up[0](skips[-1])
        for block, skip in zip(self.up[1:], reversed(skips[:-1])):
            x = block(torch.cat([x, skip], dim=1))
        return x, class_features
