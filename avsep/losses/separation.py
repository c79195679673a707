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


def soft_masks(logits: torch.Tensor, kind: str, ratio_max: float) -> torch.Tensor:
    """Masks before any binarisation, any shape: binary → ``sigmoid``; ratio → ``relu`` clamped to ``ratio_max``."""
    if kind == "binary":
        return torch.sigmoid(logits)
    if kind == "ratio":
        return torch.relu(logits).clamp(max=ratio_max)
    raise ValueError(f"mask kind {kind!r}: expected 'binary' or 'ratio'")


def object_mask_sum(object_logits: torch.Tensor, valid: torch.Tensor, kind: str, ratio_max: float) -> torch.Tensor:
    """Co-Separation: a video's mask is the sum of its objects' masks. ``object_logits (B, N, O, Fq, T)``, ``valid
    (B, N, O)`` bool (padding objects count nothing) → ``(B, N, Fq, T)``: binary masks summed and clipped to
    [0, 1] (the released code's clip before its BCE); ratio masks (``relu``) summed and clipped to ``ratio_max``."""
    masks = soft_masks(object_logits, kind, ratio_max)
    high = 1.0 if kind == "binary" else ratio_max
    return (masks * valid[..., None, None].to(masks.dtype)).sum(2).clamp(0.0, high)


def co_separation_loss(
    object_logits: torch.Tensor,
    valid: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    kind: str,
    ratio_max: float,
) -> torch.Tensor:
    """Co-Separation's co-separation loss: the sum of each video's object masks against that video's mask in the
    mixture, weighted as SoP (``weight (B, 1, Fq, T)``). ``target (B, N, Fq, T)``: binary (weighted BCE) or ratio
    (weighted L1, the released code's default; the sum clipped to ``ratio_max`` as the targets are): a scalar."""
    summed = object_mask_sum(object_logits, valid, kind, ratio_max)
    if kind == "binary":
        return F.binary_cross_entropy(summed, target, weight.expand_as(summed))
    return (weight * (summed - target).abs()).mean()


def consistency_loss(class_logits: torch.Tensor, classes: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Co-Separation's object-consistency loss: cross-entropy of a classifier on each object's separated
    spectrogram against the object's class. ``class_logits (B, N, O, C)``, ``classes (B, N, O)`` long, ``valid
    (B, N, O)`` bool → the mean over valid objects (zero when there is none)."""
    if not bool(valid.any()):
        return class_logits.sum() * 0.0
    return F.cross_entropy(class_logits[valid], classes[valid])
