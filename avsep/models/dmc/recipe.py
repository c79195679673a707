"""Training DMC from shards (one stage) and localizing a single sound source with it."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch

from avsep.config.train import OptimizerParams
from avsep.losses.dmc import contrastive_loss, cosine_proximity, max_margin_loss
from avsep.models import CLASSES
from avsep.models.dmc.data import ShardBatches
from avsep.models.dmc.network import DMC, centre_map
from avsep.models.backbones import initialised
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("dmc", "features", "shards", "profile", "profiles", "pretrain")


def per_profile(value, params) -> float:
    """The value of a :class:`avsep.config.dmc.PerProfile` for the active profile."""
    return getattr(value, params.profile)


def epochs_for(value, params) -> int:
    """A per-profile epoch count scaled by the profile's ``epochs_scale`` (at least one)."""
    return max(1, round(per_profile(value, params) * params.active_profile().epochs_scale))


def steps_for(batches: ShardBatches, params) -> int:
    """Batches per epoch: the shard set's, capped by the profile's ``max_steps_per_epoch``."""
    cap = params.active_profile().max_steps_per_epoch
    return min(batches.steps, cap) if cap else batches.steps


def build(params) -> DMC:
    """The DMC network of ``params.dmc`` at the active profile's width and image size."""
    profile = params.active_profile()
    return DMC(params.dmc, profile.backbone_width, profile.image_size)


def centre_affinity(audio: torch.Tensor, visual: torch.Tensor, distance: str) -> torch.Tensor:
    """``audio (B, M)``, ``visual (B, k, M)`` → ``(B, k)``, higher = closer: cosine proximity (paper) or the
    negative Euclidean distance (simplified code)."""
    if distance == "euclidean":
        return -(visual.float() - audio.float()[:, None]).norm(dim=-1)
    return cosine_proximity(audio[:, None], visual)


def pair_distance(audio_centres: torch.Tensor, visual_centres: torch.Tensor) -> torch.Tensor:
    """Simplified DMC's pair distance: ``(B, ka, M), (B, kv, M)`` → ``(B,)`` min over visual centres of the
    Euclidean distance to the (averaged) audio centre."""
    return (visual_centres.float() - audio_centres.float().mean(1, keepdim=True)).norm(dim=-1).amin(1)


def dmc_loss(model, batch: dict, cfg) -> dict:
    """Loss on a localization batch: own audio vs other clips' audio (``batch["negative"]``) for each frame.

    Logs ``loss`` and ``acc`` = fraction of frames scored closer to their own audio than to the negative.
    """
    out = model(batch["frame"], batch["logmel"])
    audio, visual = out["audio_centres"], out["visual_centres"]
    valid = batch["negative"] >= 0
    negative = audio[batch["negative"].clamp_min(0)]
    if cfg.loss == "max_margin":
        margin = cfg.margin if cfg.margin is not None else float(cfg.visual_clusters)
        loss = max_margin_loss(audio, visual, negative, margin, valid)
        better = (cosine_proximity(audio, visual).sum(1) > cosine_proximity(negative, visual).sum(1))[valid]
    else:
        d_pos, d_neg = pair_distance(audio, visual)[valid], pair_distance(negative, visual)[valid]
        same = torch.cat([torch.ones_like(d_pos), torch.zeros_like(d_neg)])
        loss = contrastive_loss(torch.cat([d_pos, d_neg]), same, cfg.contrastive_margin)
        better = d_pos < d_neg
    return {"loss": loss, "acc": better.float().mean()}


BACKBONES = ("streams.vision.", "streams.audio.")  # the two ResNet-18s of TwoStream (not audio_norm)


def param_groups(model, lr: float, backbone_lr_ratio: float) -> list[dict]:
    """Per-part learning rates (DMC and CAVL): the two ResNet-18s at ``lr x backbone_lr_ratio``, the rest
    (per-position fc, projections, the log-mel BatchNorm) at ``lr``."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    backbone = [p for n, p in named if n.startswith(BACKBONES)]
    heads = [p for n, p in named if not n.startswith(BACKBONES)]
    return [{"params": backbone, "lr": lr * backbone_lr_ratio}, {"params": heads, "lr": lr}]


def groups_for(cfg, params):
    """``Stage.param_groups`` of ``cfg.backbone_lr_ratio`` (a :class:`PerProfile`) for the active profile;
    ``None`` (one rate for every weight, the papers') when it is 1."""
    ratio = per_profile(cfg.backbone_lr_ratio, params)
    if ratio == 1:
        return None
    return partial(param_groups, lr=per_profile(cfg.lr, params), backbone_lr_ratio=ratio)


def recipe(params, data_root: Path) -> Recipe:
    """One stage on ``DATA/shards/{dmc.shard_set}`` (train split) with Adam."""
    cfg, profile = params.dmc, params.active_profile()
    batches = ShardBatches(Path(data_root) / "shards" / cfg.shard_set, "train", params.shards,
                           profile.batch_size, params.seed)
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage("train", batches, partial(dmc_loss, cfg=cfg), epochs_for(cfg.epochs, params),
                  model=initialised(partial(build, params), "dmc", params, data_root),
                  steps_per_epoch=steps_for(batches, params), optimizer=optimizer,
                  param_groups=groups_for(cfg, params))
    return Recipe("dmc", [stage], params_sections=PARAMS_SECTIONS)


@torch.no_grad()
def localize(model, frames: torch.Tensor, logmel: torch.Tensor, related: bool = True,
             heatmap: str | None = None) -> torch.Tensor:
    """``(B, h, w)`` map of the visual centre closest to the audio (DMC §5.1): the audio centres are
    average-pooled and compared with every visual centre; ``related=False`` takes the farthest one.

    heatmap (default ``model.cfg.heatmap``): ``assignment``, the centre's soft assignment in [0, 1] (paper);
    ``agreement``, −d_ij of each position with the centre, min-max scaled to [0, 1] per frame (the
    assignment's ranking before the softmax saturates it).
    """
    out = model(frames, logmel)
    affinity = centre_affinity(out["audio_centres"].mean(1), out["visual_centres"], model.cfg.distance)
    chosen = affinity.argmax(1) if related else affinity.argmin(1)
    heatmap = heatmap or model.cfg.heatmap
    if heatmap not in ("assignment", "agreement"):
        raise ValueError(f"heatmap {heatmap!r}: expected 'assignment' or 'agreement'")
    return centre_map(model, out, chosen, heatmap)


def predict_single_source(model, batch: dict) -> torch.Tensor:
    """TASKS["single_source"]: ``(B, h, w)`` heatmap of the localization view's frame."""
    return localize(model, batch["frame"], batch["logmel"])


def predict_class_aware(model, batch: dict) -> torch.Tensor:
    """TASKS["class_aware"]: ``(B, len(CLASSES), h, w)``, the single-source map repeated for every class. DMC has
    no classes: on cocktail parties and duets it is a class-agnostic baseline, like AVC and attention."""
    return predict_single_source(model, batch)[:, None].expand(-1, len(CLASSES), -1, -1)
