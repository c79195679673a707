"""Backbone pre-training: the world's stand-in for ImageNet and AudioSet weights.

The papers start their vision ResNet-18 from ImageNet (DSOL, MSSL, Sound of Pixels, DMC's ‡ variant) and MSSL
its audio network from AudioSet; avsep downloads no weights. This stage trains a vision and an audio
ResNet-18 of the profile's width to name the instrument of the one-source training clips (``pretrain.shard_set``,
frame → class and one second of log-mel → class, cross-entropy on each), and :func:`initialise` copies them
into the ResNet-18s of every method listed in ``pretrain.methods`` before that method trains. Only the
training split is read, so the test clips stay unseen. ``pretrain.methods: []`` trains everything from scratch.

Strides do not change a ResNet-18's weights, so one pair of backbones serves the 1/2/2/1 maps of DSOL, MSSL
and DMC and the default strides of the AVC audio tower alike.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.train import OptimizerParams
from avsep.models import CLASSES
from avsep.models.backbones import ResNet18
from avsep.models.dmc.data import ShardBatches
from avsep.models.dmc.recipe import epochs_for, per_profile, steps_for
from avsep.models.dmc.streams import TwoStream
from avsep.models.dsol.inputs import frames_to_input
from avsep.train import CheckpointError, Recipe, Stage, load_checkpoint

log = logging.getLogger(__name__)

PARAMS_SECTIONS = ("pretrain", "features", "shards", "profile", "profiles")
STAGE = "train"  # the recipe's one stage: DATA/models/pretrain/train.pt
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


def checkpoint_of(data_root: Path) -> Path:
    return Path(data_root) / "models" / "pretrain" / f"{STAGE}.pt"


def initialise(model: nn.Module, method: str, params, data_root: Path) -> nn.Module:
    """``model`` with every ResNet-18 inside it loaded from the pre-trained backbones (3 input channels: the
    vision one, 1: the audio one) when ``method`` is in ``pretrain.methods``; unchanged otherwise.

    Raises :class:`CheckpointError` when the pre-trained checkpoint is missing (naming the command that makes
    it) and ValueError when a backbone's width differs from the pre-trained one's.
    """
    if method not in params.pretrain.methods:
        return model
    path = checkpoint_of(data_root)
    try:
        state = load_checkpoint(path)["model"]
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; {method} starts from the pre-trained backbones (pretrain.methods): run "
                              f"`avsep train pretrain` first, or remove {method} from pretrain.methods") from None
    parts = {3: "vision", 1: "audio"}
    sources = {c: {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
               for c, name in parts.items()}
    loaded = []
    for where, module in model.named_modules():
        if not isinstance(module, ResNet18) or module.in_channels not in parts:
            continue
        source = sources[module.in_channels]
        width = source["stem.0.weight"].shape[0]
        if module.width != width:
            raise ValueError(f"{method}: backbone {where} has width {module.width}, the pre-trained "
                             f"{parts[module.in_channels]} ResNet-18 in {path} has width {width}; set the same "
                             f"width or remove {method} from pretrain.methods")
        module.load_state_dict(source)
        loaded.append(where)
    if not loaded:  # e.g. the audio-guided separation variant: a U-Net and a class head only
        log.info("%s: no ResNet-18 inside, nothing starts from %s", method, path)
        return model
    log.info("%s: %s start from the pre-trained backbones in %s", method, ", ".join(loaded), path)
    return model


def initialised(build_model: Callable[[], nn.Module], method: str, params, data_root: Path
                ) -> Callable[[], nn.Module]:
    """A model factory for :class:`avsep.train.Stage`: ``build_model()`` passed through :func:`initialise`."""
    return lambda: initialise(build_model(), method, params, data_root)
