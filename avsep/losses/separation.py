"""Sound of Pixels' mask objectives on the log-frequency grid.

All tensors are magnitudes on the warped grid: sources ``(B, N, Fq, T)``, mixture ``(B, Fq, T)``; predictions
are logits ``(B, N, Fq, T)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mask_weight(mix_mag: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """SoP's loss weight ``clamp(log1p(|mix|), low, high)``: ``(B, Fq, T)`` → ``(B, 1, Fq, T)`` (loud bins count
    more; silent bins still a little)."""
    return torch.log1p(mix_mag).clamp(low, high).unsqueeze(1)


def binary_mask_target(source_mags: torch.Tensor, mix_mag: torch.Tensor, threshold: float) -> torch.Tensor:
    """SoP's ground truth: 1 where a source's magnitude exceeds ``threshold`` × the mixture's, else 0."""
    return (source_mags > threshold * mix_mag.unsqueeze(1)).to(source_mags.dtype)


def ratio_mask_target(source_mags: torch.Tensor, mix_mag: torch.Tensor, eps: float, ratio_max: float) -> torch.Tensor:
    """SoP's ratio ground truth ``|S_n| / |mix|`` clamped to ``[0, ratio_max]``."""
    return (source_mags / (mix_mag.unsqueeze(1) + eps)).clamp(0.0, ratio_max)


def binary_mask_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted binary cross-entropy, mean over every bin (SoP ``BCELoss`` with its weight): a scalar."""
    return F.binary_cross_entropy_with_logits(logits, target, weight.expand_as(logits))


def ratio_mask_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted L1 between ``relu(logits)`` (a non-negative ratio) and the ratio target (SoP ``L1Loss``)."""
    return (weight * (torch.relu(logits) - target).abs()).mean()


def mask_from_logits(logits: torch.Tensor, kind: str, threshold: float | None, ratio_max: float) -> torch.Tensor:
    """The mask applied to the mixture: binary → ``sigmoid`` (binarised at ``threshold`` unless None);
    ratio → ``relu`` clamped to ``ratio_max``."""
    if kind == "binary":
        mask = torch.sigmoid(logits)
        return (mask > threshold).to(mask.dtype) if threshold is not None else mask
    if kind == "ratio":
        return torch.relu(logits).clamp(max=ratio_max)
    raise ValueError(f"mask kind {kind!r}: expected 'binary' or 'ratio'")
