"""DMC's objectives (Hu et al., CVPR 2019): max-margin loss with cosine proximity (Eq. 8) and the
contrastive loss of the simplified re-implementation.

Every function computes in float32 (bf16 autocast would blur the small cosine differences the margins see).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_proximity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(..., M), (..., M)`` → ``(...)`` cosine similarity s(a, b) in [−1, 1]."""
    return F.cosine_similarity(a.float(), b.float(), dim=-1, eps=1e-8)


def max_margin_loss(
    audio: torch.Tensor,
    visual: torch.Tensor,
    audio_negative: torch.Tensor,
    margin: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 8: Σ_i max(0, s(c^a_j, c^v_i) − s(c^a_i, c^v_i) + Δ), averaged over the batch.

    audio, visual: ``(B, k, M)`` centres of matching pairs (centre i of each modality shares W_i);
    audio_negative: ``(B, k, M)`` audio centres of another clip (the negative audio sample c^a_j);
    valid: ``(B,)`` bool, False where a row has no negative. Returns a scalar ≥ 0.
    """
    positive = cosine_proximity(audio, visual)  # (B, k)
    negative = cosine_proximity(audio_negative, visual)
    per_row = torch.clamp(negative - positive + margin, min=0).sum(1)  # DMC Eq. 8
    if valid is not None:
        per_row = per_row[valid]
    return per_row.mean() if per_row.numel() else per_row.sum()


def contrastive_loss(distance: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """``0.5·[y·d² + (1 − y)·max(0, margin − d)²]`` averaged over pairs (the simplified DMC code's loss).

    distance: ``(P,)`` non-negative distances of audio-visual pairs; same: ``(P,)`` 1 for matching pairs,
    0 for mismatched ones. Returns a scalar ≥ 0.
    """
    d, y = distance.float(), same.float()
    return (0.5 * (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2)).mean()
