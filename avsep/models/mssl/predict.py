"""MSSL's evaluation tasks (contract in :mod:`avsep.models`): maps per class (Eq. 8) and their weighted sum.

Per mode: ``full`` compares the audio's class features with every visual position in the shared space
(Eq. 8); ``multitask`` uses the visual class maps (coarse, category-level); ``avc_only`` has no classes and
gives one class-agnostic map (Grad-CAM of the "corresponds" logit on O_v), the same for every class, as the
paper's dagger-marked AVC row. ``full`` and ``multitask`` keep a class's map only where the audio predicts the
class (p_a > class_threshold; with ``valid_classes: threshold_or_argmax``, the released code's rule, also the
arg-max class), so silent classes stay at zero.

``full`` with ``localization: coarse_to_fine`` (avsep's choice, not the paper's) multiplies each min-max
normalised Eq. 8 map by the visual class map of the same class divided by its maximum: the fine alignment
ranks positions only inside the region the coarse, category-level stage gives the class. Stage two aligns
class-pooled features, so positions outside every class map never meet the alignment loss and Eq. 8 alone
leaves them at arbitrary distances (docs/models/mssl.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from avsep.models.common.inputs import batch_logmel, frames_to_input
from avsep.models.mssl.network import MSSLNet


def _avc_map(model: MSSLNet, frame: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor:
    """Grad-CAM of the correspondence logit w.r.t. the AVC visual input O_v: ``(B, h, w)`` >= 0."""
    with torch.enable_grad():
        out = model(frame, logmel)
        ov = out["O_v"]
        (grads,) = torch.autograd.grad(out["avc"][:, 1].sum(), ov)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * ov).sum(1)).detach()


def class_scores(model: MSSLNet, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """``(maps (B, K, h, w) >= 0, audio class probabilities (B, K))`` before gating."""
    frame = frames_to_input(batch["frame"], model.image_size, crop=model.crop)
    logmel = batch_logmel(batch, model.front_end)
    if model.mode == "avc_only":
        agnostic = _avc_map(model, frame, logmel)
        k = model.cls_v.out_channels
        return agnostic[:, None].expand(-1, k, -1, -1).contiguous(), torch.ones(len(frame), k, device=frame.device)
    out = model(frame, logmel)
    probs = torch.sigmoid(out["logits_a"].float())
    if model.mode == "multitask":
        return model.class_maps(out["E_v"], model.cls_v).float(), probs
    weights = model.class_maps(out["E_a"], model.cls_a)
    audio = model.embed_audio(model.class_pooled(out["E_a"], weights))  # (B, K, E)
    visual = model.embed_visual_map(out["E_v"])  # (B, E, h, w)
    distance = (audio[..., None, None] - visual[:, None]).norm(dim=2)  # MSSL Eq. 8: K^c = -||g_a - g_v||
    # "K^c is normalized" (Sec. 3.3): min-max per class map, so each map spans [0, 1] whatever the distances' range
    k = (-distance).float()
    low, high = k.amin(dim=(2, 3), keepdim=True), k.amax(dim=(2, 3), keepdim=True)
    fine = (k - low) / (high - low).clamp_min(1e-12)
    if model.localization == "fine":
        return fine, probs
    coarse = model.class_maps(out["E_v"], model.cls_v).float()
    return fine * coarse / coarse.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12), probs


def valid_classes(probs: torch.Tensor, threshold: float, rule: str) -> torch.Tensor:
    """``probs (B, K)`` -> ``(B, K)`` bool, the classes a clip's maps keep: ``threshold``: p > threshold;
    ``threshold_or_argmax`` (the released code): those plus the arg-max class, so every clip keeps one."""
    valid = probs > threshold
    if rule == "threshold_or_argmax":
        valid = valid | F.one_hot(probs.argmax(1), probs.shape[1]).bool()
    return valid


@torch.no_grad()
def class_aware(model: MSSLNet, batch: dict) -> torch.Tensor:
    """``(B, len(CLASSES), h, w)`` per-class maps, zero for classes the audio does not predict."""
    maps, probs = class_scores(model, batch)
    if model.mode == "avc_only":
        return maps
    return maps * valid_classes(probs, model.class_threshold, model.valid_classes).float()[..., None, None]


@torch.no_grad()
def single_source(model: MSSLNet, batch: dict) -> torch.Tensor:
    """``(B, h, w)``: the class maps summed with the normalised predicted class probabilities (MSSL Sec. 4.3):
    over the valid classes (``valid_classes: threshold_or_argmax``), or over every class (``threshold``)."""
    maps, probs = class_scores(model, batch)
    if model.valid_classes == "threshold_or_argmax":
        probs = probs * valid_classes(probs, model.class_threshold, model.valid_classes).float()
    weights = probs / probs.sum(1, keepdim=True).clamp_min(1e-6)
    return (maps * weights[..., None, None]).sum(1)


@torch.no_grad()
def pooled_embeddings(model: MSSLNet, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, C), "audio": (B, C)}``: E_v and E_a, each averaged over its positions, for a
    localization-view batch (``avsep diagnose``'s linear probe reads them)."""
    frame = frames_to_input(batch["frame"], model.image_size, crop=model.crop)
    out = model(frame, batch_logmel(batch, model.front_end))
    return {"visual": out["E_v"].mean(dim=(2, 3)), "audio": out["E_a"].mean(dim=(2, 3))}
