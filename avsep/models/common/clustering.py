"""The multimodal clustering of DMC (Algorithm 1) and CAVL's soft k-means over channel features.

Each feature vector (one position of a convolutional map) is softly assigned to k centres by a softmax of
negative distances (Eq. 3-5); assignments and centres are updated alternately for T iterations (Eq. 7), like
the E and M steps of EM. The assignment of a visual centre, reshaped to the map, is a soft segmentation.
"""

from __future__ import annotations

from typing import Literal

import torch

Distance = Literal["inner_product", "euclidean"]
Init = Literal["zeros", "spaced"]
_EPS = 1e-8  # guards the norm of an all-zero centre


def distances(projected: torch.Tensor, centres: torch.Tensor, distance: Distance) -> torch.Tensor:
    """``projected (B, N, k, M)`` = W_j u_i, ``centres (B, k, M)`` → ``d (B, N, k)``.

    inner_product: d_ij = −⟨W_j u_i, c_j / ‖c_j‖⟩ (DMC, Alg. 1 line 6); euclidean: d_ij = ‖W_j u_i − c_j‖.
    """
    if distance == "inner_product":
        unit = centres / centres.norm(dim=-1, keepdim=True).clamp_min(_EPS)
        return -(projected * unit[:, None]).sum(-1)  # DMC Alg. 1 line 6
    if distance == "euclidean":
        return (projected - centres[:, None]).norm(dim=-1)
    raise ValueError(f"distance {distance!r}: expected 'inner_product' or 'euclidean'")


def project(features: torch.Tensor, k: int, projections: torch.Tensor | None = None) -> torch.Tensor:
    """``features (B, N, D)`` → ``(B, N, k, M)``: W_j u_i for each centre j (``None``: u_i, repeated)."""
    if projections is None:
        return features[:, :, None, :].expand(-1, -1, k, -1)
    if projections.shape[0] < k:
        raise ValueError(f"k = {k}: only {projections.shape[0]} centre-specific projections")
    return torch.einsum("bnd,kdm->bnkm", features, projections[:k])  # W_j u_i


def agreement(
    features: torch.Tensor, centres: torch.Tensor, distance: Distance, projections: torch.Tensor | None = None
) -> torch.Tensor:
    """``(B, N, k)`` = −d_ij of ``features (B, N, D)`` with ``centres (B, k, M)``: the input of the assignment's
    softmax before the magnitude z (inner_product: ⟨W_j u_i, c_j/‖c_j‖⟩; euclidean: −‖u_i − c_j‖)."""
    return -distances(project(features, centres.shape[1], projections), centres, distance)


def spaced_positions(n: int, k: int) -> torch.Tensor:
    """``(k,)`` long: k evenly spaced indices among n positions (the simplified code's centre initialisation)."""
    return torch.linspace(0, n - 1, k).round().long()


def soft_cluster(
    features: torch.Tensor,
    k: int,
    iterations: int,
    z: float,
    distance: Distance = "euclidean",
    projections: torch.Tensor | None = None,
    init: Init = "spaced",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft clustering of ``features (B, N, D)`` (N positions of a map) into ``k`` centres.

    projections: ``(K, D, M)`` with K ≥ k, the centre-specific W_j (shared across modalities); ``None``:
        identity (plain soft k-means, CAVL).
    init: ``zeros`` starts from d = 0 (uniform assignment, Alg. 1 line 2; needs distinct projections to break
        the symmetry); ``spaced`` starts each centre at the feature of an evenly spaced position.
    Returns ``centres (B, k, M)`` and ``assignments (B, N, k)``, the softmax over centres of −z·d computed
    from the final centres (each row sums to 1).

    Centres: inner_product uses Eq. 7's assignment-weighted sum c_j = Σ_i s_ij W_j u_i (only its direction
    enters d); euclidean uses the assignment-weighted mean (soft k-means).
    """
    if features.ndim != 3:
        raise ValueError(f"features: expected (B, N, D), got shape {tuple(features.shape)}")
    if k < 1:
        raise ValueError(f"k = {k}: need at least one centre")
    projected = project(features, k, projections)
    if init == "zeros":
        d = features.new_zeros(features.shape[0], features.shape[1], k)  # Alg. 1 line 2
    elif init == "spaced":
        index = spaced_positions(features.shape[1], k).to(features.device)
        centres = projected[:, index, torch.arange(k, device=features.device)]  # (B, k, M)
        d = distances(projected, centres, distance)
    else:
        raise ValueError(f"init {init!r}: expected 'zeros' or 'spaced'")
    for _ in range(iterations):
        s = torch.softmax(-z * d, dim=-1)  # Alg. 1 line 4 (Eq. 5: s_ij = softmax(−z·d_ij))
        centres = torch.einsum("bnk,bnkm->bkm", s, projected)  # Alg. 1 line 5 (Eq. 7)
        if distance == "euclidean":
            centres = centres / s.sum(1)[..., None].clamp_min(_EPS)
        d = distances(projected, centres, distance)  # Alg. 1 line 6
    return centres, torch.softmax(-z * d, dim=-1)
