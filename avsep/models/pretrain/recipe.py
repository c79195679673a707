"""Training the backbones: one stage tagging the training clips (see :mod:`avsep.models.pretrain`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from avsep.config.train import OptimizerParams
from avsep.models.common.backbones import PRETRAIN_STAGE as STAGE
from avsep.models.common.classes import CLASSES, classes_of, multi_hot, with_data_classes
from avsep.models.common.profile import epochs_for, per_profile, steps_for
from avsep.models.pretrain.network import build
from avsep.shards.batching import ShardBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("pretrain", "features", "shards", "profile", "profiles")


def _names(row) -> list[str]:
    return [str(n) for n in row] if isinstance(row, (list, tuple)) else [n for n in str(row).split(",") if n]


def checked_multi_hot(
    rows: list[list[str]], device: torch.device, what: str, classes: tuple[str, ...] = CLASSES
) -> torch.Tensor:
    """:func:`avsep.models.multi_hot` over ``classes``, after a ValueError naming a name outside them
    (``what`` says where the names came from) or a row with none."""
    unknown = sorted({n for row in rows for n in row if n not in classes})
    if unknown:
        raise ValueError(f"pretrain: {what} {', '.join(unknown)} are not among the classes {', '.join(classes)}")
    empty = [i for i, row in enumerate(rows) if not row]
    if empty:
        raise ValueError(f"pretrain: sample {empty[0]} of the batch has no {what}: nothing to learn from")
    return multi_hot(rows, classes, device)


def sound_targets(batch: dict, device: torch.device, classes: tuple[str, ...] = CLASSES) -> torch.Tensor:
    """``(B, K)``: the instruments heard in each clip (its labels)."""
    return checked_multi_hot([_names(row) for row in batch["labels"]], device, "labels", classes)


def frame_targets(
    batch: dict, device: torch.device, targets: str = "visible", classes: tuple[str, ...] = CLASSES
) -> torch.Tensor:
    """``(B, K)``: ``visible`` — the class of every annotated object in the frame, sounding or silent (a sample
    without object annotations, as from a real dataset, falls back to its labels); ``sounding`` — the labels."""
    if targets == "sounding":
        return sound_targets(batch, device, classes)
    objects = batch.get("objects") or [None] * len(batch["labels"])
    rows = [
        sorted({o["class"] for o in objs}) if objs else _names(labels) for objs, labels in zip(objects, batch["labels"])
    ]
    return checked_multi_hot(rows, device, "object classes", classes)


def _top1_hit(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of samples whose highest-scoring class is one of their targets."""
    return target.gather(1, logits.argmax(1, keepdim=True)).mean()


def pretrain_loss(
    model,
    batch: dict,
    augment: bool,
    jitter: float,
    vision_targets: str = "visible",
    classes: tuple[str, ...] = CLASSES,
) -> dict:
    """Multi-label binary cross-entropy of each modality's tagger; logs how often each one's top class is a
    target (``vision_acc``, ``audio_acc``)."""
    vision, audio = model(batch["frame"], batch["logmel"], augment and model.training, jitter)
    seen = frame_targets(batch, vision.device, vision_targets, classes)
    heard = sound_targets(batch, audio.device, classes)
    loss_v = F.binary_cross_entropy_with_logits(vision.float(), seen)
    loss_a = F.binary_cross_entropy_with_logits(audio.float(), heard)
    return {
        "loss": loss_v + loss_a,
        "vision_acc": _top1_hit(vision.float(), seen),
        "audio_acc": _top1_hit(audio.float(), heard),
    }


def recipe(params, data_root: Path) -> Recipe:
    """One stage on the training split of ``DATA/shards/{pretrain.shard_set}``, Adam."""
    params = with_data_classes(params, data_root)  # the classes the shards were built with
    cfg, profile = params.pretrain, params.active_profile()
    batches = ShardBatches(
        set_location(params.shards.root, data_root, cfg.shard_set),
        "train",
        params.shards,
        profile.batch_size,
        params.seed,
    )
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage(
        STAGE,
        batches,
        partial(
            pretrain_loss,
            augment=cfg.augment,
            jitter=cfg.jitter,
            vision_targets=cfg.vision_targets,
            classes=classes_of(params),
        ),
        epochs_for(cfg.epochs, params),
        model=partial(build, params),
        steps_per_epoch=steps_for(batches, params),
        optimizer=optimizer,
    )
    return Recipe("pretrain", [stage], params_sections=PARAMS_SECTIONS)
