"""Training DMC from shards (one stage); localizing with it is in :mod:`avsep.models.dmc.predict`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch

from avsep.config.train import OptimizerParams
from avsep.losses.dmc import contrastive_loss, cosine_proximity, max_margin_loss
from avsep.models.common.backbones import imagenet_frames, initialised, weights_sections
from avsep.models.common.classes import classes_of, with_classes
from avsep.models.common.inputs import batch_logmel, method_inputs
from avsep.models.common.profile import epochs_for, groups_for, per_profile, steps_for
from avsep.models.dmc.network import DMC
from avsep.shards.batching import ShardBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage, unwrap

PARAMS_SECTIONS = ("dmc", "features", "shards", "profile", "profiles", "pretrain")


def build(params) -> DMC:
    """The DMC network of ``params.dmc`` at the active profile's width, with ``dmc.inputs``' frames and front end
    and that profile's choices (frames ImageNet-normalised when its vision net starts from
    ``backbones.visual_weights``)."""
    inputs = method_inputs(params, "dmc")
    net = DMC(
        params.dmc,
        params.active_profile().backbone_width,
        inputs.image_size,
        imagenet_frames(params, "dmc"),
        crop=inputs.crop,
        front_end=inputs.front_end,
        profile=params.profile,
    )
    return with_classes(net, classes_of(params))  # class-agnostic: repeats its map over the classes


def pair_distance(audio_centres: torch.Tensor, visual_centres: torch.Tensor) -> torch.Tensor:
    """Simplified DMC's pair distance: ``(B, ka, M), (B, kv, M)`` → ``(B,)`` min over visual centres of the
    Euclidean distance to the (averaged) audio centre."""
    return (visual_centres.float() - audio_centres.float().mean(1, keepdim=True)).norm(dim=-1).amin(1)


def dmc_loss(model, batch: dict, cfg) -> dict:
    """Loss on a localization batch: own audio vs other clips' audio (``batch["negative"]``) for each frame.

    Logs ``loss`` and ``acc`` = fraction of frames scored closer to their own audio than to the negative.
    """
    net = unwrap(model)
    assert isinstance(net, DMC), type(net).__name__
    out = model(batch["frame"], batch_logmel(batch, net.front_end))
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


def recipe(params, data_root: Path) -> Recipe:
    """One stage on ``DATA/shards/{dmc.shard_set}`` (train split) with Adam, fed as ``dmc.inputs`` says."""
    cfg, inputs = params.dmc, method_inputs(params, "dmc")
    batches = ShardBatches(
        set_location(params.shards.root, data_root, cfg.shard_set),
        "train",
        params.shards,
        inputs.batch_size,
        params.seed,
        window_s=inputs.window_s,
        with_logmel=inputs.with_logmel,
        windows_per_clip=inputs.windows_per_clip,
    )
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage(
        "train",
        batches,
        partial(dmc_loss, cfg=cfg),
        epochs_for(cfg.epochs, params),
        model=initialised(partial(build, params), "dmc", params, data_root),
        steps_per_epoch=steps_for(batches, params),
        optimizer=optimizer,
        param_groups=groups_for(cfg, params),
    )
    return Recipe("dmc", [stage], params_sections=PARAMS_SECTIONS + weights_sections(params, "dmc"))
