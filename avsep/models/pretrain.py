"""Backbone pre-training: the world's stand-in for ImageNet and AudioSet weights.

The papers start their vision ResNet-18 from ImageNet (DSOL, MSSL, Sound of Pixels, DMC's ‡ variant) and MSSL
its audio network from AudioSet; avsep downloads no weights. This stage trains a vision and an audio
ResNet-18 of the profile's width to tag the training clips of ``pretrain.shard_set``: a frame with every
instrument in view (``pretrain.vision_targets: visible``, image-level tags like ImageNet's; sounding or not)
and one second of log-mel with the instruments heard (the clip's labels, like AudioSet's clip tags), a
multi-label binary cross-entropy on each. Then :func:`avsep.models.backbones.initialise` copies them
into the ResNet-18s of every method listed in ``pretrain.methods`` before that method trains. Only the
training split is read, so the test clips stay unseen. ``pretrain.methods: []`` trains everything from scratch.

Strides do not change a ResNet-18's weights, so one pair of backbones serves the 1/2/2/1 maps of DSOL, MSSL
and DMC and the default strides of the AVC audio tower alike.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.train import OptimizerParams
from avsep.models import CLASSES, multi_hot
from avsep.models.backbones import PRETRAIN_STAGE as STAGE
from avsep.models.backbones import (  # noqa: F401 (the stage's API)
    checkpoint_of, initialise, initialised)
from avsep.models.dmc.data import ShardBatches
from avsep.models.dmc.recipe import epochs_for, per_profile, steps_for
from avsep.models.dmc.streams import TwoStream
from avsep.models.dsol.inputs import frames_to_input
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("pretrain", "features", "shards", "profile", "profiles")
TASKS: dict = {}  # nothing to evaluate: its weights are judged by the methods that start from them


class Backbones(TwoStream):
    """``forward(frames (B, 3, H, W) uint8, logmel (B, 1, T, F))`` → class logits (one per class, multi-label) ``(vision (B, K), audio (B, K))``:
    the two-stream ResNet-18s of DMC/CAVL, each global-average-pooled into a linear classifier over ``CLASSES``
    (frames normalised as DSOL's, so with ImageNet statistics like the papers' pre-trained nets)."""

    def __init__(self, width: int, image_size: int):
        super().__init__(width, image_size)
        self.vision_head = nn.Linear(self.vision.out_channels, len(CLASSES))
        self.audio_head = nn.Linear(self.audio.out_channels, len(CLASSES))

    def forward(self, frames: torch.Tensor, logmel: torch.Tensor, augment: bool = False,
                jitter: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames_to_input(frames, self.image_size, augment, jitter)
        vision = self.vision_head(self.vision(x).mean((2, 3)))
        audio = self.audio_head(self.audio(self.audio_norm(logmel.float())).mean((2, 3)))
        return vision, audio


def build(params) -> Backbones:
    profile = params.active_profile()
    return Backbones(profile.backbone_width, profile.image_size)


def _names(row) -> list[str]:
    return [str(n) for n in row] if isinstance(row, (list, tuple)) else [n for n in str(row).split(",") if n]


def checked_multi_hot(rows: list[list[str]], device: torch.device, what: str) -> torch.Tensor:
    """:func:`avsep.models.multi_hot` over ``CLASSES``, after a ValueError naming a name outside ``CLASSES``
    (``what`` says where the names came from) or a row with none."""
    unknown = sorted({n for row in rows for n in row if n not in CLASSES})
    if unknown:
        raise ValueError(f"pretrain: {what} {', '.join(unknown)} are not among the classes {', '.join(CLASSES)}")
    empty = [i for i, row in enumerate(rows) if not row]
    if empty:
        raise ValueError(f"pretrain: sample {empty[0]} of the batch has no {what}: nothing to learn from")
    return multi_hot(rows, CLASSES, device)


def sound_targets(batch: dict, device: torch.device) -> torch.Tensor:
    """``(B, K)``: the instruments heard in each clip (its labels)."""
    return checked_multi_hot([_names(row) for row in batch["labels"]], device, "labels")


def frame_targets(batch: dict, device: torch.device, targets: str = "visible") -> torch.Tensor:
    """``(B, K)``: ``visible`` — the class of every annotated object in the frame, sounding or silent (a sample
    without object annotations, as from a real dataset, falls back to its labels); ``sounding`` — the labels."""
    if targets == "sounding":
        return sound_targets(batch, device)
    objects = batch.get("objects") or [None] * len(batch["labels"])
    rows = [sorted({o["class"] for o in objs}) if objs else _names(labels)
            for objs, labels in zip(objects, batch["labels"])]
    return checked_multi_hot(rows, device, "object classes")


def _top1_hit(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of samples whose highest-scoring class is one of their targets."""
    return target.gather(1, logits.argmax(1, keepdim=True)).mean()


def pretrain_loss(model, batch: dict, augment: bool, jitter: float, vision_targets: str = "visible") -> dict:
    """Multi-label binary cross-entropy of each modality's tagger; logs how often each one's top class is a
    target (``vision_acc``, ``audio_acc``)."""
    vision, audio = model(batch["frame"], batch["logmel"], augment and model.training, jitter)
    seen = frame_targets(batch, vision.device, vision_targets)
    heard = sound_targets(batch, audio.device)
    loss_v = F.binary_cross_entropy_with_logits(vision.float(), seen)
    loss_a = F.binary_cross_entropy_with_logits(audio.float(), heard)
    return {"loss": loss_v + loss_a, "vision_acc": _top1_hit(vision.float(), seen),
            "audio_acc": _top1_hit(audio.float(), heard)}


def recipe(params, data_root: Path) -> Recipe:
    """One stage on the training split of ``DATA/shards/{pretrain.shard_set}``, Adam."""
    cfg, profile = params.pretrain, params.active_profile()
    batches = ShardBatches(Path(data_root) / "shards" / cfg.shard_set, "train", params.shards,
                           profile.batch_size, params.seed)
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage(STAGE, batches, partial(pretrain_loss, augment=cfg.augment, jitter=cfg.jitter,
                                                 vision_targets=cfg.vision_targets),
                  epochs_for(cfg.epochs, params), model=partial(build, params),
                  steps_per_epoch=steps_for(batches, params), optimizer=optimizer)
    return Recipe("pretrain", [stage], params_sections=PARAMS_SECTIONS)
