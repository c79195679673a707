"""CAVL's evaluation task (contracts in :mod:`avsep.models.method`): the visual centre aligned with the sound."""

from __future__ import annotations

import torch

from avsep.losses.cavl import structural_alignment
from avsep.models.common.inputs import batch_logmel
from avsep.models.common.maps import centre_map, min_max


@torch.no_grad()
def localize(
    model, frames: torch.Tensor, logmel: torch.Tensor, related: bool = True, heatmap: str | None = None
) -> torch.Tensor:
    """``(B, h, w)`` single-source map of the visual centre aligned with the sound (k = 1); ``related=False``
    gives the least similar visual centre (CAVL Table 2, "unrelated").

    heatmap (default ``model.heatmap``, the active profile's ``cavl.heatmap``): ``assignment``, the centre's
    soft assignment (paper); ``agreement``, −d of each position to the centre, min-max scaled to [0, 1] per
    frame; ``weighted``, the agreement times the per-position norm of the visual features before
    normalisation (min-max scaled): where the network sees something strong that looks like the centre.
    """
    out = model(frames, logmel, 1)
    _, objects = structural_alignment(out["audio_centres"], out["visual_centres"])
    chosen = objects[:, 0]
    if not related:
        sims = torch.nn.functional.cosine_similarity(out["audio_centres"], out["visual_centres"], dim=-1)
        chosen = sims.argmin(1)
    heatmap = heatmap or model.heatmap
    if heatmap not in ("assignment", "agreement", "weighted"):
        raise ValueError(f"heatmap {heatmap!r}: expected 'assignment', 'agreement' or 'weighted'")
    picked = centre_map(model, out, chosen, heatmap)
    return picked * min_max(out["visual_strength"]) if heatmap == "weighted" else picked


@torch.no_grad()
def sound_maps(model, frames: torch.Tensor, logmel: torch.Tensor, k: int) -> torch.Tensor:
    """Class-agnostic maps ``(B, k, h, w)``: for each of the k sounds, the mask of its aligned visual centre."""
    out = model(frames, logmel, k)
    _, objects = structural_alignment(out["audio_centres"], out["visual_centres"])
    maps = out["visual_assignments"]
    return maps.gather(1, objects[:, :, None, None].expand(-1, -1, *maps.shape[-2:]))


def predict_single_source(model, batch: dict) -> torch.Tensor:
    """TASKS["single_source"]: ``(B, h, w)`` heatmap of the localization view's frame."""
    return localize(model, batch["frame"], batch_logmel(batch, model.front_end))


@torch.no_grad()
def pooled_embeddings(model, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, C), "audio": (B, C)}``: each stream's feature map averaged over its positions, for a
    localization-view batch (``avsep diagnose``'s linear probe reads them)."""
    visual, audio = model.streams(batch["frame"], batch_logmel(batch, model.front_end))
    return {"visual": visual.mean(dim=(2, 3)), "audio": audio.mean(dim=(2, 3))}
