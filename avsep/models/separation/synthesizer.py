"""Sound of Pixels' synthesizer: a guidance vector selects and weighs the U-Net's K audio channels.

``logit(n, f, t) = Σ_k v_nk · α_k · a_k(f, t) + β`` (SoP's inner product with a learned per-channel scale α
and a bias β); a sigmoid of it is the binary mask, the activation chosen by the loss.
"""

from __future__ import annotations

import torch
from torch import nn


class Synthesizer(nn.Module):
    """guidance ``(B, N, K)`` and audio channels ``(B, K, Fq, T)`` → mask logits ``(B, N, Fq, T)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, guidance: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        if guidance.dim() != 3 or audio.dim() != 4 or guidance.shape[-1] != audio.shape[1]:
            raise ValueError(
                f"synthesizer: guidance (B, N, K) and audio (B, K, Fq, T) must share K, got "
                f"{tuple(guidance.shape)} and {tuple(audio.shape)}"
            )
        return torch.einsum("bnk,bkft->bnft", guidance * self.scale, audio) + self.bias
