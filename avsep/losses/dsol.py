"""DSOL's objectives (Hu et al., NeurIPS 2020): localization BCE, category distributions, their KL.

Every function computes in float32 (bf16 autocast would lose the small probabilities the KL needs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def localization_bce(
    pos_logits: torch.Tensor, neg_logits: torch.Tensor, neg_valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 1: BCE between the global max of the localization map and "same clip" (1) / "other clip" (0).

    pos_logits, neg_logits: (B, h, w) pre-sigmoid maps of (a_i, v_i) and (a_i, v_j), j != i. The map is
    sigmoid(logits) and sigmoid is monotone, so GMP(sigmoid(x)) = sigmoid(GMP(x)): the BCE is taken on the
    pooled logits, which is exact and numerically stable. neg_valid: (B,) bool, False where no negative exists.
    Returns a scalar: mean over positives and valid negatives.
    """
    pos = pos_logits.float().flatten(1).amax(1)  # DSOL Eq. 1: global max pooling
    neg = neg_logits.float().flatten(1).amax(1)
    if neg_valid is None:
        neg_valid = torch.ones_like(neg, dtype=torch.bool)
    logits = torch.cat([pos, neg[neg_valid]])
    target = torch.cat([torch.ones_like(pos), torch.zeros_like(neg[neg_valid])])
    return F.binary_cross_entropy_with_logits(logits, target)


def category_log_distribution(object_maps: torch.Tensor) -> torch.Tensor:
    """Eq. 6: log of softmax over categories of the global average of each sounding-object map.

    object_maps: (B, K, h, w) s_k (Eq. 5). Returns (B, K) log-probabilities.
    """
    return F.log_softmax(object_maps.float().mean(dim=(2, 3)), dim=1)  # DSOL Eq. 6


def distribution_kl(log_p_visual: torch.Tensor, log_p_audio: torch.Tensor) -> torch.Tensor:
    """Eq. 7: D_KL(p_v || p_a), mean over the batch. Both (B, K) log-probabilities."""
    p_visual = log_p_visual.exp()
    return (p_visual * (log_p_visual - log_p_audio.float())).sum(1).mean()  # DSOL Eq. 7


def stage_two_loss(consistency: torch.Tensor | None, localization: torch.Tensor | None, lambda_: float) -> torch.Tensor:
    """Eq. 8: L2 = Lc + lambda * L1; a term passed as ``None`` is switched off (DSOL Table 5)."""
    if consistency is None and localization is None:
        raise ValueError("stage_two_loss: both terms are switched off; nothing to minimise")
    present = consistency if consistency is not None else localization
    assert present is not None  # both None was refused above
    total = torch.zeros((), device=present.device)
    if consistency is not None:
        total = total + consistency
    if localization is not None:
        total = total + lambda_ * localization  # DSOL Eq. 8
    return total
