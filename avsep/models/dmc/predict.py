"""DMC's evaluation tasks (contracts in :mod:`avsep.models.method`): the visual centre closest to the audio."""

from __future__ import annotations

import torch

from avsep.losses.dmc import cosine_proximity
from avsep.models.common.classes import per_class
from avsep.models.common.inputs import batch_logmel
from avsep.models.common.maps import centre_map


def centre_affinity(audio: torch.Tensor, visual: torch.Tensor, distance: str) -> torch.Tensor:
    """``audio (B, M)``, ``visual (B, k, M)`` → ``(B, k)``, higher = closer: cosine proximity (paper) or the
    negative Euclidean distance (simplified code)."""
    if distance == "euclidean":
        return -(visual.float() - audio.float()[:, None]).norm(dim=-1)
    return cosine_proximity(audio[:, None], visual)


@torch.no_grad()
def localize(
    model, frames: torch.Tensor, logmel: torch.Tensor, related: bool = True, heatmap: str | None = None
) -> torch.Tensor:
    """``(B, h, w)`` map of the visual centre closest to the audio (DMC §5.1): the audio centres are
    average-pooled and compared with every visual centre; ``related=False`` takes the farthest one.

    heatmap (default ``model.heatmap``, the active profile's ``dmc.heatmap``): ``assignment``, the centre's
    soft assignment in [0, 1] (paper); ``agreement``, −d_ij of each position with the centre, min-max scaled
    to [0, 1] per frame (the assignment's ranking before the softmax saturates it).
    """
    out = model(frames, logmel)
    affinity = centre_affinity(out["audio_centres"].mean(1), out["visual_centres"], model.cfg.distance)
    chosen = affinity.argmax(1) if related else affinity.argmin(1)
    heatmap = heatmap or model.heatmap
    if heatmap not in ("assignment", "agreement"):
        raise ValueError(f"heatmap {heatmap!r}: expected 'assignment' or 'agreement'")
    return centre_map(model, out, chosen, heatmap)


def predict_single_source(model, batch: dict) -> torch.Tensor:
    """TASKS["single_source"]: ``(B, h, w)`` heatmap of the localization view's frame."""
    return localize(model, batch["frame"], batch_logmel(batch, model.front_end))


def predict_class_aware(model, batch: dict) -> torch.Tensor:
    """TASKS["class_aware"]: ``(B, K, h, w)``, the single-source map repeated for each of the dataset's K classes.
    DMC has no classes: on cocktail parties and duets it is a class-agnostic baseline, like AVC and attention."""
    return per_class(predict_single_source(model, batch), model)


@torch.no_grad()
def pooled_embeddings(model, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, C), "audio": (B, C)}``: each stream's feature map averaged over its positions, for a
    localization-view batch (``avsep diagnose``'s linear probe reads them)."""
    visual, audio = model.streams(batch["frame"], batch_logmel(batch, model.front_end))
    return {"visual": visual.mean(dim=(2, 3)), "audio": audio.mean(dim=(2, 3))}
