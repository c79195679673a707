"""DSOL's evaluation tasks (contract in :mod:`avsep.models`): single-source maps and class-aware maps."""

from __future__ import annotations

import torch

from avsep.models.common.inputs import batch_logmel, frames_to_input
from avsep.models.dsol.network import DSOLNet


def clusters_to_classes(maps: torch.Tensor, cluster_class: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``maps (B, k, h, w)`` per-cluster probabilities -> ``(B, n_classes, h, w)``: each class sums the
    clusters matched to it (stage one's Hungarian matching); a class without a cluster gets a zero map."""
    b, _, h, w = maps.shape  # k: any number of clusters
    out = maps.new_zeros(b, n_classes + 1, h, w)  # the extra row collects unmatched clusters (-1)
    index = torch.where(cluster_class < 0, torch.full_like(cluster_class, n_classes), cluster_class)
    out.index_add_(1, index.to(maps.device), maps)
    return out[:, :n_classes]


def sounding_object_maps(model: DSOLNet, out: dict) -> torch.Tensor:
    """Eq. 5: s_k = m_k * l (or m_k alone when the silent-object filter is off). ``(B, k, h, w)``."""
    if model.use_prod:
        return out["object_maps"] * out["map"][:, None]  # DSOL Eq. 5
    return out["object_maps"]


@torch.no_grad()
def single_source(model: DSOLNet, batch: dict) -> torch.Tensor:
    """``(B, h, w)``: the stage's audiovisual localization map l (sigmoid of the scaled cosine)."""
    frame = frames_to_input(batch["frame"], model.image_size, crop=model.crop)
    return model(frame, batch_logmel(batch, model.front_end))["map"].float()


@torch.no_grad()
def class_aware(model: DSOLNet, batch: dict) -> torch.Tensor:
    """``(B, len(CLASSES), h, w)``: softmax over clusters of (s_k x test_scale) at every pixel, then summed
    into the classes matched to the clusters. Works on any batch with ``frame`` and ``logmel`` (the cocktail
    view's 2x2 frames or a duet's frame)."""
    if int(model.rounds) == 0:
        raise RuntimeError(
            "DSOL class-aware maps need a dictionary: this model has no clustering round "
            "(train stage one for at least dsol.cluster_from_epoch epochs)"
        )
    frame = frames_to_input(batch["frame"], model.image_size, crop=model.crop)
    out = model(frame, batch_logmel(batch, model.front_end), classes=True)
    probs = torch.softmax(sounding_object_maps(model, out).float() * model.test_scale, dim=1)
    return clusters_to_classes(probs, model.cluster_class, model.n_classes)


@torch.no_grad()
def pooled_embeddings(model: DSOLNet, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, C), "audio": (B, C)}``: the vision feature map averaged over positions and the audio
    features (their global max, what Eq. 1 compares), for a localization-view batch (``avsep diagnose``'s probe)."""
    frame = frames_to_input(batch["frame"], model.image_size, crop=model.crop)
    return {
        "visual": model.vision(frame).mean(dim=(2, 3)),
        "audio": model.audio_features(batch_logmel(batch, model.front_end)),
    }
