"""Profile helpers: the value of a per-profile parameter for the active profile, epoch and step counts scaled
by it, and per-part learning rates of the two-stream networks (DMC, CAVL)."""

from __future__ import annotations

from functools import partial


def per_profile(value, params) -> float:
    """The value of a :class:`avsep.config.dmc.PerProfile` for the active profile."""
    return getattr(value, params.profile)


def epochs_for(value, params) -> int:
    """A per-profile epoch count scaled by the profile's ``epochs_scale`` (at least one)."""
    return max(1, round(per_profile(value, params) * params.active_profile().epochs_scale))


def steps_for(batches, params) -> int:
    """Batches per epoch: the loader's ``steps`` (:mod:`avsep.shards.batching`), capped by the profile's
    ``max_steps_per_epoch``."""
    cap = params.active_profile().max_steps_per_epoch
    return min(batches.steps, cap) if cap else batches.steps


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
