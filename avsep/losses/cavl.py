"""CAVL's objectives: structural alignment of sound-object pairs and the contrastive loss on scene matching.

The paper gives no equations; the choices here are documented in docs/models/cavl.md. Sound centres and
object centres are compared by cosine similarity; the structural alignment picks the one-to-one assignment
of sounds to objects with the highest total similarity (exhaustive over assignments: k ≤ 4 sounds), and the
scene score is the mean similarity of the aligned pairs. Computed in float32.
"""

from __future__ import annotations

import itertools
from functools import cache

import torch
import torch.nn.functional as F

from avsep.losses.dmc import contrastive_loss


@cache
def _assignments(n_sounds: int, n_objects: int) -> torch.Tensor:
    """``(P, n_sounds)`` long: every injective map sounds → objects."""
    return torch.tensor(list(itertools.permutations(range(n_objects), n_sounds)), dtype=torch.long)


def pair_similarity(audio_centres: torch.Tensor, visual_centres: torch.Tensor) -> torch.Tensor:
    """``(B, ka, M), (B, kv, M)`` → ``(B, ka, kv)`` cosine similarity of every sound-object pair."""
    a = F.normalize(audio_centres.float(), dim=-1, eps=1e-8)
    v = F.normalize(visual_centres.float(), dim=-1, eps=1e-8)
    return a @ v.transpose(1, 2)


def structural_alignment(
    audio_centres: torch.Tensor, visual_centres: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The best one-to-one alignment of sounds to objects and its scene score.

    audio_centres ``(B, ka, M)``, visual_centres ``(B, kv, M)`` with ka ≤ kv. Returns ``score (B,)`` = mean
    cosine of the aligned pairs, in [−1, 1], and ``objects (B, ka)`` long: the visual centre aligned with each
    sound.
    """
    ka, kv = audio_centres.shape[1], visual_centres.shape[1]
    if ka > kv:
        raise ValueError(f"structural alignment: {ka} sounds but only {kv} visual centres")
    sims = pair_similarity(audio_centres, visual_centres)  # (B, ka, kv)
    options = _assignments(ka, kv).to(sims.device)  # (P, ka)
    rows = torch.arange(ka, device=sims.device)
    scores = sims[:, rows[None, :], options].mean(-1)  # (B, P): mean similarity of each alignment
    best = scores.argmax(1)
    return scores.gather(1, best[:, None])[:, 0], options[best]


def scene_similarity(audio_features: torch.Tensor, visual_features: torch.Tensor) -> torch.Tensor:
    """Scene-level alignment: ``(B, Na, M), (B, Nv, M)`` → ``(B,)`` cosine of the position-averaged features."""
    return F.cosine_similarity(audio_features.float().mean(1), visual_features.float().mean(1), dim=-1, eps=1e-8)


def scene_contrastive_loss(positive: torch.Tensor, negative: torch.Tensor, margin: float) -> torch.Tensor:
    """Contrastive loss on scene scores: matching pairs pulled to distance 0, mismatched ones pushed past the
    margin. positive, negative: ``(B,)`` scene similarities in [−1, 1] (distance d = 1 − s ∈ [0, 2])."""
    distance = torch.cat([1 - positive.float(), 1 - negative.float()])
    same = torch.cat([torch.ones_like(positive), torch.zeros_like(negative)])
    return contrastive_loss(distance, same, margin)


def poisson_count_loss(log_rate: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Poisson regression of the number of sound sources (CAVL's counter): the negative log-likelihood
    ``λ − n·log λ`` (without the constant log n!) averaged over clips. log_rate, counts: ``(B,)``."""
    return F.poisson_nll_loss(log_rate.float(), counts.float(), log_input=True, full=False)
