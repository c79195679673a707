"""MSSL's objectives (Qian et al., ECCV 2020): multi-label BCE, correspondence CE, contrastive alignment.

Computed in float32 (autocast-safe: BCE on logits, CE on logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def classification_loss(audio_logits: torch.Tensor, visual_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 1: Lcls = H_bce(y, p_a) + H_bce(y, p_v). Logits and multi-hot ``targets``: (B, K)."""
    y = targets.float()
    return (
        F.binary_cross_entropy_with_logits(audio_logits.float(), y)  # MSSL Eq. 1
        + F.binary_cross_entropy_with_logits(visual_logits.float(), y)
    )


def correspondence_loss(
    pos_logits: torch.Tensor, neg_logits: torch.Tensor, neg_valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 2: categorical CE of the two-way correspondence classifier, class-balanced (the mean of the
    positives' loss and the negatives' loss). ``pos_logits``, ``neg_logits``: (B, 2), index 1 = corresponds."""
    pos = F.cross_entropy(pos_logits.float(), torch.ones(len(pos_logits), dtype=torch.long, device=pos_logits.device))
    if neg_valid is not None:
        neg_logits = neg_logits[neg_valid]
    if len(neg_logits) == 0:
        return pos
    neg = F.cross_entropy(neg_logits.float(), torch.zeros(len(neg_logits), dtype=torch.long, device=neg_logits.device))
    return (pos + neg) / 2  # MSSL Eq. 2, balanced


def alignment_loss(
    audio_emb: torch.Tensor,
    visual_emb: torch.Tensor,
    valid: torch.Tensor,
    margin: float,
    valid_visual: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 6-7: contrastive loss over every (i, m) x (j, n) pair of valid class features.

    audio_emb, visual_emb: (B, K, E) projected class features g_a(f_a^m), g_v(f_v^n); valid: (B, K) bool, the
    valid (clip, class) features of both modalities, or of the audio alone when ``valid_visual`` (B, K) gives the
    visual ones (the released code judges each side by its own probability). Positive pairs (i = j, m = n) cost
    D^2; the others max(0, margin - D)^2; each set is averaged (so the many negatives do not drown the
    positives). Returns 0 (with a graph) when no pair is valid.
    """
    if valid_visual is None:
        a = audio_emb[valid].float()  # (N, E)
        v = visual_emb[valid].float()
        if len(a) == 0:
            return audio_emb.sum() * 0.0
        d2 = torch.cdist(a, v).pow(2)  # MSSL Eq. 6: squared Euclidean distances, (N, N)
        positive = torch.eye(len(a), dtype=torch.bool, device=a.device)
        pos = d2[positive].mean()
        if len(a) == 1:
            return pos
        neg = (margin - d2[~positive].clamp_min(1e-12).sqrt()).clamp_min(0).pow(2).mean()  # MSSL Eq. 7
        return pos + neg
    a, v = audio_emb[valid].float(), visual_emb[valid_visual].float()  # (Na, E), (Nv, E)
    if len(a) == 0 or len(v) == 0:
        return audio_emb.sum() * 0.0 + visual_emb.sum() * 0.0
    # a pair is positive when both features are the same clip's same class: their (i, m) indices match
    where_a, where_v = valid.nonzero(), valid_visual.nonzero()  # (Na, 2), (Nv, 2) rows (clip, class)
    positive = (where_a[:, None, :] == where_v[None, :, :]).all(-1)  # (Na, Nv)
    d2 = torch.cdist(a, v).pow(2)  # MSSL Eq. 6
    terms = []
    if positive.any():
        terms.append(d2[positive].mean())
    if (~positive).any():
        terms.append((margin - d2[~positive].clamp_min(1e-12).sqrt()).clamp_min(0).pow(2).mean())  # MSSL Eq. 7
    return torch.stack(terms).sum()
