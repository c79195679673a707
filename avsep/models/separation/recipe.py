"""Training: one stage per trained guidance variant, mixtures built on the fly from the training shard sets."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config import derive
from avsep.config.separation import SeparationScale
from avsep.config.train import OptimizerParams, ScheduleParams
from avsep.losses.separation import (
    binary_mask_loss,
    binary_mask_target,
    co_separation_loss,
    consistency_loss,
    mask_weight,
    ratio_mask_loss,
    ratio_mask_target,
)
from avsep.models.common.backbones import initialised, weights_sections
from avsep.models.separation.co_separation import object_classes
from avsep.models.separation.guidance import Localizer
from avsep.models.separation.inputs import prepare, scale_of
from avsep.models.separation.network import SeparationNet
from avsep.shards.batching import InterleavedBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("separation", "shards", "features", "profile", "profiles", "pretrain")
# The variant trained last is the method's default model (``build``): Sound of Pixels when it is trained.
STAGE_ORDER = ("object", "co_separation", "audio", "frame")


def build_variant(params, variant: str) -> SeparationNet:
    """The network of one guidance variant at the active profile's scale, carrying ``params`` for prediction."""
    scale = scale_of(params)
    model = SeparationNet(
        variant,
        scale.unet_filters,
        scale.channels,
        scale.unet_depth,
        scale.class_level,
        scale.vision_width or params.active_profile().backbone_width,
        scale.dilated,
        scale.mask,
        params.separation.ratio_max,
        params.separation.log_eps,
    )
    model.params = params  # plain attribute: predict() needs the front end and mask settings, not saved weights
    return model


def stage_variants(params) -> list[str]:
    """Trained variants in stage order (gradcam adds the audio model it reads)."""
    wanted = params.separation.trained_variants()
    return [v for v in STAGE_ORDER if v in wanted]


def build(params) -> SeparationNet:
    """The network of the recipe's last stage (the evaluation runner loads that stage's weights into it)."""
    return build_variant(params, stage_variants(params)[-1])


class TrainLoader(InterleavedBatches):
    """``loader(epoch, rank, world_size)`` of the trainer: separation views over ``separation.train_sets``
    (:class:`avsep.shards.batching.InterleavedBatches`).

    ``frames``: frames decoded per component (``None``: ``shards.separation.n_frames``). The audio variant never
    looks at frames, so its loader decodes one; its windows, gains and mixtures are the same as with all of them.
    ``repeats`` and ``block``: :func:`prepare` draws a new STFT crop and new flips at every use, so one read of
    the shards gives several different training steps, and two uses of a batch are ``block`` steps apart (uses
    in a row trained worse: docs/models/separation.md).
    ``epoch_repeats``: passes over the shard sets in one trainer epoch (SoP's ``dup_trainset``); pass ``i`` of
    epoch ``e`` is the views' epoch ``e * epoch_repeats + i``, so each pass draws its own windows and mixtures.
    With 1 an epoch is one pass, the views' epoch the trainer's."""

    def __init__(
        self,
        params,
        data_root: Path,
        frames: int | None = None,
        repeats: int = 1,
        block: int = 1,
        batch_size: int | None = None,
        epoch_repeats: int = 1,
    ):
        self.epoch_repeats, self.epoch = epoch_repeats, 0
        shards = params.shards if frames is None else derive(params.shards, {"separation.n_frames": frames})
        super().__init__(
            [set_location(params.shards.root, data_root, name) for name in params.separation.train_sets],
            "train",
            shards,
            batch_size or params.active_profile().batch_size,
            params.seed,
            repeats,
            block,
        )

    def __len__(self) -> int:
        return self.epoch_repeats * super().__len__()

    def __call__(self, epoch: int, rank: int, world_size: int):
        self.epoch = epoch
        return super().__call__(epoch, rank, world_size)

    def __iter__(self):
        if self.epoch_repeats == 1:
            yield from super().__iter__()
            return
        for i in range(self.epoch_repeats):
            for view in self.views:
                view.set_epoch(self.epoch * self.epoch_repeats + i)
            yield from super().__iter__()


class MapCache:
    """The localizer's maps of the last ``size`` batches. A repeated batch (``batch_repeats``) comes back as the
    same tensors, and its maps depend neither on the crop nor on the flips, so they are computed once. The
    frames tensor is held beside its maps, so its identity cannot be reused by another batch."""

    def __init__(self, size: int):
        self.size = size
        self.entries: list[tuple[torch.Tensor, torch.Tensor]] = []

    def get(self, frames: torch.Tensor, compute) -> torch.Tensor:
        for held, maps in self.entries:
            if held is frames:
                return maps
        maps = compute()
        self.entries = (self.entries + [(frames, maps)])[-self.size :]
        return maps


def flipped_maps(maps: torch.Tensor, flip: torch.Tensor | None) -> torch.Tensor:
    """``maps (B, N, [O,] F, h, w)`` mirrored for the components whose frames the vision net sees flipped."""
    if flip is None:
        return maps
    return torch.where(flip.reshape(*flip.shape, *([1] * (maps.dim() - 2))), maps.flip(-1), maps)


def make_loss(params, variant: str, data_root: Path):
    """``loss(model, batch)``: SoP's mask loss (plus MSSL's class-tag BCE for the audio variant; Co-Separation's
    co-separation and object-consistency losses for co_separation). The object and co_separation variants'
    localizer is loaded at the first step (building the recipe loads no other model); it sees the frames as
    loaded, so its maps are flipped where the vision net's frames are."""
    sep = params.separation
    localizer: list[Localizer] = []
    cache = MapCache(scale_of(params).repeat_block)
    rate = params.shards.separation.sample_rate

    def loss(model, batch):
        p = prepare(batch, params, train=True)
        maps = None
        if variant in ("object", "co_separation"):
            if not localizer:
                localizer.append(Localizer(sep.object_method, params, data_root, p.mix.device))
            if variant == "object":
                maps = cache.get(p.frames_raw, lambda: localizer[0].maps(p.frames_raw, p.mix, rate, p.targets))
            else:
                objects = object_classes(p.targets)[0]
                maps = cache.get(p.frames_raw, lambda: localizer[0].object_maps(p.frames_raw, p.mix, rate, objects))
            maps = flipped_maps(maps, p.flip)
        out = model(p.log_mag, p.frames, maps, p.targets, p.mix_mag if variant == "co_separation" else None)
        weight = mask_weight(p.mix_mag, sep.weight_min, sep.weight_max)
        if variant == "co_separation":
            return _co_separation_terms(p, out, weight, params)
        if scale_of(params).mask == "binary":
            mask_loss = binary_mask_loss(
                out["logits"], binary_mask_target(p.source_mags, p.mix_mag, sep.binary_threshold), weight
            )
        else:
            mask_loss = ratio_mask_loss(
                out["logits"], ratio_mask_target(p.source_mags, p.mix_mag, sep.log_eps, sep.ratio_max), weight
            )
        result = {"loss": mask_loss, "mask_loss": mask_loss.detach()}
        if "class_logits" in out:
            tags = p.targets.amax(dim=1)  # the mixture's clip-level tags
            class_loss = F.binary_cross_entropy_with_logits(out["class_logits"], tags)
            result["loss"] = mask_loss + sep.class_loss_weight * class_loss
            result["class_loss"] = class_loss.detach()
        return result

    return loss


def _co_separation_terms(p, out: dict, weight: torch.Tensor, params) -> dict:
    """Co-Separation's objective: the co-separation loss (weight 1) plus ``consistency_loss_weight`` × the
    object-consistency cross-entropy, with the profile's mask kind and SoP's targets and weights."""
    sep, kind = params.separation, scale_of(params).mask
    if kind == "binary":
        target = binary_mask_target(p.source_mags, p.mix_mag, sep.binary_threshold)
    else:
        target = ratio_mask_target(p.source_mags, p.mix_mag, sep.log_eps, sep.ratio_max)
    _, classes, valid = object_classes(p.targets)
    co_sep = co_separation_loss(out["object_logits"], valid, target, weight, kind, sep.ratio_max)
    consistency = consistency_loss(out["object_class_logits"], classes, valid)
    return {
        "loss": co_sep + sep.consistency_loss_weight * consistency,
        "mask_loss": co_sep.detach(),
        "consistency_loss": consistency.detach(),
    }


def _param_groups(model: nn.Module, scale: SeparationScale) -> list[dict]:
    """:meth:`SeparationNet.param_groups` of a stage's model (the trainer passes the bare module, not DDP's) at
    ``scale``'s rates (the visual head at ``lr_frame_head``, ``lr_sound`` when that is null)."""
    if not isinstance(model, SeparationNet):
        raise TypeError(f"separation param groups: expected a SeparationNet, got {type(model).__name__}")
    head = scale.lr_sound if scale.lr_frame_head is None else scale.lr_frame_head
    return model.param_groups(scale.lr_sound, scale.lr_frame, scale.lr_synth, head)


def recipe(params, data_root: Path) -> Recipe:
    """Stages ``object``, ``co_separation``, ``audio``, ``frame`` (those the variants need), each a fresh model."""
    scale, sep = scale_of(params), params.separation
    optimizer = OptimizerParams(
        name=scale.optimizer, lr=scale.lr_sound, weight_decay=sep.weight_decay, momentum=sep.momentum
    )
    schedule = (
        ScheduleParams(name="step", milestones=scale.milestones, gamma=sep.lr_gamma)
        if scale.milestones
        else ScheduleParams()
    )
    stages = []
    for variant in stage_variants(params):
        loader = TrainLoader(
            params,
            Path(data_root),
            frames=1 if variant == "audio" else None,
            repeats=scale.batch_repeats,
            block=scale.repeat_block,
            batch_size=scale.batch_size_of(variant),
            epoch_repeats=scale.epoch_repeats,
        )
        stages.append(
            Stage(
                variant,
                loader,
                make_loss(params, variant, Path(data_root)),
                epochs=scale.epochs_of(variant),
                steps_per_epoch=scale.steps_per_epoch,
                model=initialised(partial(build_variant, params, variant), "separation", params, Path(data_root)),
                optimizer=optimizer,
                schedule=schedule,
                param_groups=partial(_param_groups, scale=scale),
            )
        )
    return Recipe("separation", stages, params_sections=PARAMS_SECTIONS + weights_sections(params, "separation"))
