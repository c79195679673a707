"""Training DSOL: stage ``one`` on solo clips with clustering rounds, stage ``two`` on the cocktail set."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch.nn.functional as F
from torch import nn

from avsep.config.train import OptimizerParams
from avsep.losses.dsol import category_log_distribution, distribution_kl, localization_bce, stage_two_loss
from avsep.models.common.backbones import initialised, weights_sections
from avsep.models.common.classes import classes_of, with_data_classes
from avsep.models.common.inputs import batch_logmel, frames_to_input, method_inputs
from avsep.models.dsol.dictionary import RoundConfig, clustering_round
from avsep.models.dsol.network import DSOLNet
from avsep.models.dsol.predict import sounding_object_maps
from avsep.shards.batching import (
    SizedBatches,
    cocktail_batches,
    localization_batches,
    multi_source_rows,
    solo_rows,
    with_window,
)
from avsep.shards.halves import STAGE_ONE_HALF, solo_half
from avsep.shards.remote import set_exists, set_location
from avsep.train import Recipe, Stage, unwrap

PARAMS_SECTIONS = ("dsol", "features", "shards", "profile", "profiles", "pretrain")


def build(params) -> DSOLNet:
    """The DSOL network of ``params.dsol`` at the active profile's width and image size."""
    cfg, profile, inputs = params.dsol, params.active_profile(), method_inputs(params, "dsol")
    name = params.profile
    return DSOLNet(
        profile.backbone_width,
        cfg.embed_dim,
        cfg.clusters,
        len(classes_of(params)),
        cfg.scale_init,
        cfg.mask_threshold,
        cfg.mask_dilation,
        inputs.image_size,
        cfg.use_prod,
        cfg.test_scale,
        crop=inputs.crop,
        front_end=inputs.front_end,
        class_weighting=cfg.class_weighting.get(name),
    )


def _dsol_net(model: nn.Module) -> DSOLNet:
    """The :class:`DSOLNet` a loss is given, bare or wrapped in DDP."""
    net = unwrap(model)
    if not isinstance(net, DSOLNet):
        raise TypeError(f"DSOL loss: model must be a DSOLNet (or one wrapped in DDP), got {type(net).__name__}")
    return net


class StageOneLoss:
    """Eq. 1 on a solo batch: ``{"loss", "scale"}`` (scale = the learned sigmoid weight)."""

    def __init__(self, image_size: int, augment: bool, jitter: float, crop: bool = False, front_end: str = "stored"):
        self.image_size, self.augment, self.jitter = image_size, augment, jitter
        self.crop, self.front_end = crop, front_end

    def __call__(self, model, batch: dict) -> dict:
        frame = frames_to_input(batch["frame"], self.image_size, self.augment, self.jitter, crop=self.crop)
        out = model(frame, batch_logmel(batch, self.front_end), negative=batch["negative"])
        loss = localization_bce(out["logits"], out["neg_logits"], batch["negative_valid"])
        return {"loss": loss, "scale": _dsol_net(model).scale.weight.detach().reshape(())}


class StageTwoLoss:
    """Eq. 8 on a cocktail batch: ``{"loss", "l1", "lc"}`` with the terms the parameters switch on."""

    def __init__(self, cfg, image_size: int, crop: bool = False, front_end: str = "stored"):
        self.cfg, self.image_size, self.crop, self.front_end = cfg, image_size, crop, front_end

    def __call__(self, model, batch: dict) -> dict:
        net = _dsol_net(model)
        if int(net.rounds) == 0 or not bool(net.teacher_ready):
            raise RuntimeError(
                "DSOL stage two needs stage one's dictionary and frozen audio classifier; "
                "the model has none (stage one did not finish a clustering round)"
            )
        cfg = self.cfg
        frame = frames_to_input(batch["frame"], self.image_size, cfg.augment, cfg.jitter, crop=self.crop)
        out = model(frame, batch_logmel(batch, self.front_end), negative=batch["negative"], classes=True)
        l1 = localization_bce(out["logits"], out["neg_logits"], batch["negative_valid"]) if cfg.use_l1 else None
        lc = None
        if cfg.use_lc:
            log_p_visual = category_log_distribution(sounding_object_maps(net, out))  # Eq. 5-6
            log_p_audio = F.log_softmax(out["teacher_logits"].float(), dim=1)
            lc = distribution_kl(log_p_visual, log_p_audio)  # Eq. 7
        metrics = {"loss": stage_two_loss(lc, l1, cfg.lambda_)}
        if l1 is not None:
            metrics["l1"] = l1.detach()
        if lc is not None:
            metrics["lc"] = lc.detach()
        return metrics


def _shard_set(params, data_root: Path, name: str) -> str:
    location = set_location(params.shards.root, data_root, name)
    if not set_exists(location):
        raise FileNotFoundError(f"{location}: no shard set (sizes.json missing); build the dataset first")
    return location


def _in_stage_one_half(key: str) -> bool:
    return solo_half(key) == STAGE_ONE_HALF


def stage_one_rows(params):
    """``batch -> batch | None``: the solo rows stage one trains and clusters on (``dsol.stage_one_solos``)."""
    if params.dsol.stage_one_solos.get(params.profile) == "half":
        return partial(solo_rows, key_filter=_in_stage_one_half)
    return solo_rows


def _clips_loader(
    location: str | Path, params, batch_size: int, epoch: int, rank: int, world_size: int, rows=None
) -> SizedBatches:
    """Localization batches of the clips set: stage one's solo rows, or ``rows`` (the duet stage two's
    multi-source rows)."""
    inputs = method_inputs(params, "dsol")
    return localization_batches(
        location,
        params.dsol.train_split,
        params,
        batch_size,
        epoch,
        world_size,
        rows or stage_one_rows(params),
        window_s=inputs.window_s,
        windows_per_clip=inputs.windows_per_clip,
        with_logmel=inputs.with_logmel,
    )


def _cocktail_loader(
    location: str | Path, params, batch_size: int, epoch: int, rank: int, world_size: int
) -> SizedBatches:
    with_logmel = method_inputs(params, "dsol").with_logmel
    return cocktail_batches(
        location, params.dsol.train_split, params, batch_size, epoch, world_size, with_logmel=with_logmel
    )


def recipe(params, data_root: Path) -> Recipe:
    """Stage ``one`` (solo clips, localization + clustering rounds) then ``two`` (Eq. 8) on the cocktail set or,
    with ``stage_two_data: duet``, on the multi-source clips of the clips set."""
    params = with_data_classes(params, data_root)  # the classes the shards were built with
    cfg, profile, inputs = params.dsol, params.active_profile(), method_inputs(params, "dsol")
    clips = _shard_set(params, data_root, cfg.clips_set)
    if cfg.stage_two_data == "cocktail":
        stage_two_loader = partial(
            _cocktail_loader, _shard_set(params, data_root, cfg.cocktail_set), params, inputs.batch_size
        )
    else:
        stage_two_loader = partial(_clips_loader, clips, params, inputs.batch_size, rows=multi_source_rows)
    name = params.profile
    epochs_one = max(1, round(cfg.epochs_one.get(name) * profile.epochs_scale))
    epochs_two = max(1, round(cfg.epochs_two.get(name) * profile.epochs_scale))
    rounds = RoundConfig(
        location=clips,
        split=cfg.train_split,
        shards=with_window(params.shards, inputs.window_s),
        batch_size=inputs.batch_size,
        image_size=inputs.image_size,
        seed=params.seed,
        classes=classes_of(params),
        first_epoch=cfg.cluster_from_epoch,
        last_epoch=epochs_one - 1,
        max_clips=cfg.cluster_max_clips,
        n_init=cfg.kmeans_n_init,
        max_iter=cfg.kmeans_max_iter,
        passes=round(cfg.cls_passes.get(name)),
        lr=cfg.cls_lr,
        augment=cfg.augment,
        jitter=cfg.jitter,
        progress=params.train.progress,
        crop=inputs.crop,
        front_end=inputs.front_end,
        optimizer=cfg.cls_optimizer.get(name),
        stage_lr=cfg.lr_one.get(name),
        weight_decay=cfg.weight_decay,
        dictionary=cfg.dictionary.get(name),
        keep=stage_one_rows(params),
    )
    if cfg.cluster_from_epoch > epochs_one:
        raise ValueError(
            f"dsol.cluster_from_epoch = {cfg.cluster_from_epoch} > {epochs_one} stage-one epochs: "
            "stage two would have no dictionary"
        )
    return Recipe(
        "dsol",
        params_sections=PARAMS_SECTIONS + weights_sections(params, "dsol"),
        stages=[
            Stage(
                "one",
                partial(_clips_loader, clips, params, inputs.batch_size),
                StageOneLoss(inputs.image_size, cfg.augment, cfg.jitter, inputs.crop, inputs.front_end),
                epochs=epochs_one,
                model=initialised(partial(build, params), "dsol", params, data_root),
                steps_per_epoch=profile.max_steps_per_epoch,
                optimizer=OptimizerParams(name="adam", lr=cfg.lr_one.get(name), weight_decay=cfg.weight_decay),
                after_epoch=partial(clustering_round, cfg=rounds),
                find_unused_parameters=True,
            ),
            Stage(
                "two",
                stage_two_loader,
                StageTwoLoss(cfg, inputs.image_size, inputs.crop, inputs.front_end),
                epochs=epochs_two,
                steps_per_epoch=profile.max_steps_per_epoch,
                optimizer=OptimizerParams(name="adam", lr=cfg.lr_two.get(name), weight_decay=cfg.weight_decay),
                find_unused_parameters=True,
            ),
        ],
    )
