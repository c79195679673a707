"""Training MSSL: stage ``one`` (Eq. 3, or Eq. 2 alone), stage ``two`` for mode ``full`` (+ Eq. 7)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch

from avsep.config.train import OptimizerParams
from avsep.losses.mssl import alignment_loss, classification_loss, correspondence_loss
from avsep.models.common.backbones import initialised, weights_sections
from avsep.models.common.classes import classes_of, multi_hot, with_data_classes
from avsep.models.common.inputs import batch_logmel, frames_to_input, method_inputs
from avsep.models.mssl.network import MSSLNet
from avsep.shards.batching import SizedBatches, localization_batches
from avsep.shards.remote import set_exists, set_location
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("mssl", "features", "shards", "profile", "profiles", "pretrain")


def build(params) -> MSSLNet:
    """The MSSL network of ``params.mssl`` at the active profile's width, with ``mssl.inputs``' frames and front
    end."""
    cfg, profile, inputs = params.mssl, params.active_profile(), method_inputs(params, "mssl")
    name = params.profile
    return MSSLNet(
        profile.backbone_width,
        len(classes_of(params)),
        cfg.audio.get(name),
        cfg.avc_hidden,
        cfg.proj_hidden,
        cfg.embed_dim,
        cfg.cam,
        cfg.mode,
        cfg.class_threshold,
        inputs.image_size,
        cfg.localization.get(name),
        crop=inputs.crop,
        front_end=inputs.front_end,
        valid_classes=cfg.valid_classes.get(name),
    )


class MsslLoss:
    """Eq. 3 (``with_alignment``: + Eq. 7) on a localization-view batch; ``avc_only``: Eq. 2 alone."""

    def __init__(
        self,
        cfg,
        image_size: int,
        classes: tuple[str, ...],
        with_alignment: bool,
        crop: bool = False,
        front_end: str = "stored",
        valid_pairs: str = "both",
    ):
        self.cfg, self.image_size, self.classes, self.with_alignment = cfg, image_size, classes, with_alignment
        self.crop, self.front_end = crop, front_end
        self.valid_pairs = valid_pairs  # Eq. 7's valid class features: "per_side" or "both"

    def __call__(self, model, batch: dict) -> dict:
        cfg = self.cfg
        frame = frames_to_input(batch["frame"], self.image_size, cfg.augment, cfg.jitter, crop=self.crop)
        valid_neg = batch["negative"] >= 0
        logmel = batch_logmel(batch, self.front_end)
        out = model(frame, logmel, negative=batch["negative"].clamp_min(0), align=self.with_alignment)
        avc = correspondence_loss(out["avc"], out["avc_neg"], valid_neg)  # Eq. 2
        metrics = {"avc": avc.detach()}
        if cfg.mode == "avc_only":
            metrics["loss"] = avc
            return metrics
        targets = multi_hot(batch["labels"], self.classes, frame.device)
        cls = classification_loss(out["logits_a"], out["logits_v"], targets)  # Eq. 1
        loss = cls + cfg.lambda_avc * avc  # MSSL Eq. 3
        metrics["cls"] = cls.detach()
        if self.with_alignment:
            pa, pv = torch.sigmoid(out["logits_a"].detach()), torch.sigmoid(out["logits_v"].detach())
            valid_a, valid_v = pa > cfg.class_threshold, pv > cfg.class_threshold
            if self.valid_pairs == "both":
                valid_a = valid_v = valid_a & valid_v
                ava = alignment_loss(out["emb_a"], out["emb_v"], valid_a, cfg.margin)  # Eq. 7
            else:
                ava = alignment_loss(out["emb_a"], out["emb_v"], valid_a, cfg.margin, valid_v)  # Eq. 7
            loss = loss + ava
            metrics["ava"] = ava.detach()
            metrics["valid_classes"] = valid_a.float().sum(1).mean()
        metrics["loss"] = loss
        return metrics


def _groups(cfg, lr: float):
    """Per-part learning rates: backbones at ``lr x backbone_lr_ratio``, heads at ``lr`` (MSSL Sec. 4.2)."""

    def groups(model):
        backbone = [p for name, p in model.named_parameters() if name.startswith(("vision.", "audio."))]
        heads = [p for name, p in model.named_parameters() if not name.startswith(("vision.", "audio."))]
        return [{"params": backbone, "lr": lr * cfg.backbone_lr_ratio}, {"params": heads, "lr": lr}]

    return groups


def _loader(location: str | Path, params, batch_size: int, epoch: int, rank: int, world_size: int) -> SizedBatches:
    inputs = method_inputs(params, "mssl")
    return localization_batches(
        location,
        params.mssl.train_split,
        params,
        batch_size,
        epoch,
        world_size,
        lambda batch: batch if len(batch["key"]) >= 2 else None,
        window_s=inputs.window_s,
        windows_per_clip=inputs.windows_per_clip,
        with_logmel=inputs.with_logmel,
    )


def recipe(params, data_root: Path) -> Recipe:
    """Stage ``one`` (Eq. 3, or Eq. 2 alone for ``avc_only``) and, for ``full``, stage ``two`` (+ Eq. 7)."""
    params = with_data_classes(params, data_root)  # the classes the shards were built with
    cfg, profile, name = params.mssl, params.active_profile(), params.profile
    inputs = method_inputs(params, "mssl")
    location = set_location(params.shards.root, data_root, cfg.train_set)
    if not set_exists(location):
        raise FileNotFoundError(f"{location}: no shard set (sizes.json missing); build the dataset first")
    loader = partial(_loader, location, params, inputs.batch_size)
    classes = classes_of(params)

    def sgd(lr: float) -> OptimizerParams:  # the paper's SGD, or Adam where mssl.optimizer says so
        return OptimizerParams(
            name=getattr(cfg.optimizer, name), lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )

    stages = [
        Stage(
            "one",
            loader,
            MsslLoss(cfg, inputs.image_size, classes, False, inputs.crop, inputs.front_end),
            epochs=max(1, round(cfg.epochs_one.get(name) * profile.epochs_scale)),
            model=initialised(partial(build, params), "mssl", params, data_root),
            steps_per_epoch=profile.max_steps_per_epoch,
            optimizer=sgd(cfg.lr_one.get(name)),
            param_groups=_groups(cfg, cfg.lr_one.get(name)),
            find_unused_parameters=True,
        )
    ]
    if cfg.mode == "full":
        stages.append(
            Stage(
                "two",
                loader,
                MsslLoss(
                    cfg,
                    inputs.image_size,
                    classes,
                    True,
                    inputs.crop,
                    inputs.front_end,
                    valid_pairs=cfg.valid_pairs.get(name),
                ),
                epochs=max(1, round(cfg.epochs_two.get(name) * profile.epochs_scale)),
                steps_per_epoch=profile.max_steps_per_epoch,
                optimizer=sgd(cfg.lr_two.get(name)),
                param_groups=_groups(cfg, cfg.lr_two.get(name)),
                find_unused_parameters=True,
            )
        )
    return Recipe("mssl", params_sections=PARAMS_SECTIONS + weights_sections(params, "mssl"), stages=stages)
