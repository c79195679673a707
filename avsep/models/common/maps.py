"""Feature maps and heatmaps shared by the clustering localizers (DMC, CAVL): per-position vectors, soft
assignments as maps, per-frame min-max scaling and the map of a chosen visual centre."""

from __future__ import annotations

import torch


def as_vectors(feature_map: torch.Tensor) -> torch.Tensor:
    """``(B, C, h, w)`` → ``(B, h·w, C)``: one feature vector per map position (DMC §3.1's reshape)."""
    return feature_map.flatten(2).transpose(1, 2)


def as_maps(assignments: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(B, h·w, k)`` → ``(B, k, h, w)``: each centre's soft assignment as a map."""
    return assignments.transpose(1, 2).reshape(assignments.shape[0], assignments.shape[2], height, width)


def min_max(maps: torch.Tensor) -> torch.Tensor:
    """``(B, h, w)`` scaled to [0, 1] per map (the ``agreement`` / ``weighted`` heatmaps of DMC and CAVL)."""
    low, high = maps.amin((1, 2), keepdim=True), maps.amax((1, 2), keepdim=True)
    return (maps - low) / (high - low).clamp_min(1e-12)


def centre_map(model, out: dict, chosen: torch.Tensor, heatmap: str) -> torch.Tensor:
    """``(B, h, w)``: the map of visual centre ``chosen[b]`` of each frame, for DMC's and CAVL's ``localize``:
    its soft assignment (``heatmap: assignment``, in [0, 1]) or its agreement (``model.agreement_maps``),
    min-max scaled per frame (``agreement``, and CAVL's ``weighted`` before the strength)."""
    maps = out["visual_assignments"] if heatmap == "assignment" else model.agreement_maps(out)
    picked = maps[torch.arange(chosen.shape[0], device=chosen.device), chosen]
    return picked if heatmap == "assignment" else min_max(picked)
