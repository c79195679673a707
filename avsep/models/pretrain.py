"""Backbone pre-training: the world's stand-in for ImageNet and AudioSet weights.

The papers start their vision ResNet-18 from ImageNet (DSOL, MSSL, Sound of Pixels, DMC's ‡ variant) and MSSL
its audio network from AudioSet; avsep downloads no weights. This stage trains a vision and an audio
ResNet-18 of the profile's width to name the instrument of the one-source training clips (``pretrain.shard_set``,
frame → class and one second of log-mel → class, cross-entropy on each), and :func:`avsep.models.backbones.initialise` copies them
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
from avsep.models import CLASSES
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
    """``forward(frames (B, 3, H, W) uint8, logmel (B, 1, T, F))`` → class logits ``(vision (B, K), audio (B, K))``:
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


def class_targets(labels: list, device: torch.device) -> torch.Tensor:
    """``(B,)`` class index of each clip's first label; ValueError naming a label outside ``CLASSES``."""
    names = [row[0] if isinstance(row, (list, tuple)) else str(row).split(",")[0] for row in labels]
    unknown = sorted({n for n in names if n not in CLASSES})
    if unknown:
        raise ValueError(f"pretrain: labels {', '.join(unknown)} are not among the classes {', '.join(CLASSES)}")
    return torch.tensor([CLASSES.index(n) for n in names], dtype=torch.long, device=device)


def pretrain_loss(model, batch: dict, augment: bool, jitter: float) -> dict:
    """Cross-entropy of each modality's classifier; logs each one's accuracy."""
    vision, audio = model(batch["frame"], batch["logmel"], augment and model.training, jitter)
    target = class_targets(batch["labels"], vision.device)
    loss_v, loss_a = F.cross_entropy(vision.float(), target), F.cross_entropy(audio.float(), target)
    return {"loss": loss_v + loss_a, "vision_acc": (vision.argmax(1) == target).float().mean(),
            "audio_acc": (audio.argmax(1) == target).float().mean()}


def recipe(params, data_root: Path) -> Recipe:
    """One stage on the training split of ``DATA/shards/{pretrain.shard_set}``, Adam."""
    cfg, profile = params.pretrain, params.active_profile()
    batches = ShardBatches(Path(data_root) / "shards" / cfg.shard_set, "train", params.shards,
                           profile.batch_size, params.seed)
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage(STAGE, batches, partial(pretrain_loss, augment=cfg.augment, jitter=cfg.jitter),
                  epochs_for(cfg.epochs, params), model=partial(build, params),
                  steps_per_epoch=steps_for(batches, params), optimizer=optimizer)
    return Recipe("pretrain", [stage], params_sections=PARAMS_SECTIONS)
