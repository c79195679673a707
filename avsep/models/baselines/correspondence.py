"""Audio-visual correspondence: the two-stream net, objective and recipe shared by ``avc`` and ``attention``.

Both baselines learn from the localization view only: a frame and the second of audio around it are a
positive pair, the same audio with another clip's frame of the batch (``batch["negative"]``) a negative one,
and a binary classifier tells them apart (Arandjelović & Zisserman, "Objects that Sound", Sec. 3; Senocak et
al. train their attention network with the same kind of correspondence signal). They differ in how the
audio meets the visual positions (:mod:`.avc`: max over positions; :mod:`.attention`: softmax attention).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.train import OptimizerParams
from avsep.models.common.backbones import ResNet18, imagenet_frames, initialised, weights_sections
from avsep.models.common.inputs import imagenet_normalise
from avsep.shards.batching import ShardBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage

UINT8_MAX = 255.0  # frames arrive as uint8


class TwoStream(nn.Module):
    """The vision and audio towers, mapping both into one ``D``-dimensional space (L2-normalised).

    ``visual(frame: (B, 3, H, W) uint8) -> (B, D, h, w)``: the frame scaled to [0, 1] and resized (bilinear) to
    ``image_size`` (then ImageNet-normalised when ``imagenet_frames``: a vision net that starts from ImageNet
    weights), a ResNet-18 of ``width`` with ``strides`` (16 in all by default: 224 px -> 14×14) and a 1×1
    projection. ``audio(logmel: (B, 1, T, F)) -> (B, D)``: batch-normalised log-mel (the dB scale is learned
    away), a ResNet-18, max-pooled over time and frequency, and a linear projection.
    """

    def __init__(
        self,
        width: int,
        image_size: int,
        embed_dim: int,
        strides: tuple[int, int, int, int],
        imagenet_frames: bool = False,
    ):
        super().__init__()
        self.image_size, self.imagenet_frames = image_size, imagenet_frames
        self.vision = ResNet18(3, width, strides)
        self.vision_proj = nn.Conv2d(self.vision.out_channels, embed_dim, 1)
        self.audio_norm = nn.BatchNorm2d(1)
        self.audio_net = ResNet18(1, width)
        self.audio_proj = nn.Linear(self.audio_net.out_channels, embed_dim)

    def visual(self, frame: torch.Tensor) -> torch.Tensor:
        # Contiguous (NCHW) input: channels-last frames (torchvision's decoder) crash torch 2.11's
        # single-threaded CPU convolutions (see avsep.shards.views.collate).
        x = frame.to(torch.float32, memory_format=torch.contiguous_format) / UINT8_MAX
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        if self.imagenet_frames:
            x = imagenet_normalise(x)
        return F.normalize(self.vision_proj(self.vision(x)), dim=1)

    def audio(self, logmel: torch.Tensor) -> torch.Tensor:
        features = self.audio_net(self.audio_norm(logmel.float())).amax(dim=(2, 3))
        return F.normalize(self.audio_proj(features), dim=1)


def towers_from(params, name: str) -> TwoStream:
    """The towers of baseline ``name`` (``avc``, ``attention``) at the active profile's width and image size, with
    its section's embedding and strides (frames ImageNet-normalised when its vision net starts from
    ``backbones.visual_weights``)."""
    profile, section = params.active_profile(), getattr(params.baselines, name)
    strides = tuple(section.vision_strides)
    return TwoStream(
        profile.backbone_width, profile.image_size, section.embed_dim, strides, imagenet_frames(params, name)
    )


def position_similarity(visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Cosine of the audio embedding ``(B, D)`` with every position of ``visual`` ``(B, D, h, w)``: ``(B, h, w)``
    (both are unit vectors)."""
    return torch.einsum("bdhw,bd->bhw", visual, audio)


class Calibration(nn.Module):
    """``logit = scale * similarity + bias``, both learned (AVOL-Net's calibration of the max-pooled score)."""

    def __init__(self, scale_init: float):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale_init)))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, similarity: torch.Tensor) -> torch.Tensor:
        return self.scale * similarity + self.bias


def pooled_embeddings(model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, D), "audio": (B, D)}``: a net's visual positions averaged, and its audio embedding, for a
    localization-view batch (``avsep diagnose``'s linear probe reads them)."""
    towers = model.towers
    if not isinstance(towers, TwoStream):
        raise TypeError(f"pooled embeddings: {type(model).__name__}.towers is not a TwoStream")
    return {"visual": towers.visual(batch["frame"]).mean(dim=(2, 3)), "audio": towers.audio(batch["logmel"])}


# What avsep diagnose runs on a correspondence net (avsep.diagnose): both maps take the audio.
DIAGNOSTICS = ("overfit", "probe", "audio_swap")


def other_clips(keys: list[str], device: torch.device) -> torch.Tensor:
    """``(B, B)`` bool: True where rows i and j come from different clips (j's audio is a negative for i)."""
    return torch.tensor([[a != b for b in keys] for a in keys], dtype=torch.bool, device=device)


@runtime_checkable
class PairScorer(Protocol):
    """A network that scores every frame of a batch against every row's audio (what batch negatives need)."""

    def pair_logits(self, frame: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor: ...


def batch_correspondence_loss(model: nn.Module, batch: dict) -> dict:
    """``negatives: batch``: every frame against every clip's audio of the batch. ``model.pair_logits(frame,
    logmel)`` gives ``(B, B)`` logits (frame i, audio j); the diagonal is the positives, pairs of different clips
    the negatives, and the loss is the mean of the two halves' binary cross-entropies (so B − 1 negatives weigh
    as much as one positive). ``acc`` is the balanced accuracy of the pairs."""
    if not isinstance(model, PairScorer):
        raise TypeError(f"batch negatives: {type(model).__name__} has no pair_logits(frame, logmel)")
    logits = model.pair_logits(batch["frame"], batch["logmel"]).float()
    positive = logits.diagonal()
    negative = logits[other_clips(list(batch["key"]), logits.device)]
    loss_pos = F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive))
    if negative.numel() == 0:  # the whole batch is one clip
        return {"loss": loss_pos, "acc": (positive > 0).float().mean()}
    loss_neg = F.binary_cross_entropy_with_logits(negative, torch.zeros_like(negative))
    accuracy = 0.5 * ((positive > 0).float().mean() + (negative <= 0).float().mean())
    return {"loss": 0.5 * (loss_pos + loss_neg), "acc": accuracy}


def correspondence_loss(model: nn.Module, batch: dict) -> dict:
    """Binary cross-entropy of matching (target 1) versus mismatched (target 0) pairs, and the accuracy.

    ``model(frame, logmel, negative)`` returns ``{"pos": (B,), "neg": (B,)}`` logits; rows whose ``negative``
    is -1 (the whole batch is one clip) have no negative and are left out of it.
    """
    out = model(batch["frame"], batch["logmel"], batch["negative"])
    valid = batch["negative"] >= 0
    logits = torch.cat([out["pos"], out["neg"][valid]])
    targets = torch.cat([torch.ones_like(out["pos"]), torch.zeros_like(out["neg"][valid])])
    loss = F.binary_cross_entropy_with_logits(logits.float(), targets.float())
    accuracy = ((logits > 0).float() == targets).float().mean()
    return {"loss": loss, "acc": accuracy}


class _OpenedLater:
    """A stage loader whose batches are opened on the first epoch, so that building the recipe reads no shards;
    one view for the run. The trainer calls :meth:`close` when the stage ends (stops the persistent workers)."""

    def __init__(self, open_batches: Callable[[], ShardBatches]):
        self._open = open_batches
        self._batches: ShardBatches | None = None

    def __call__(self, epoch: int, rank: int, world_size: int) -> Iterable[Any]:
        if self._batches is None:
            self._batches = self._open()
        return self._batches(epoch, rank, world_size)

    def close(self) -> None:
        if self._batches is not None:
            self._batches.close()


def correspondence_recipe(name: str, params, data_root: Path, build: Callable[[], nn.Module]) -> Recipe:
    """One stage: ``build()`` trained with :func:`correspondence_loss` on the train split of
    ``params.baselines.<name>.train_set``, Adam at the section's per-profile rate, for the per-profile epochs ×
    ``epochs_scale``, each capped at the profile's ``max_steps_per_epoch``."""
    section = getattr(params.baselines, name)
    profile = params.active_profile()
    location = set_location(params.shards.root, data_root, section.train_set)
    loader = _OpenedLater(lambda: ShardBatches(location, "train", params.shards, profile.batch_size, params.seed))
    epochs = max(1, round(getattr(section.epochs, params.profile) * profile.epochs_scale))
    optimizer = OptimizerParams(name="adam", lr=getattr(section.lr, params.profile), weight_decay=section.weight_decay)
    loss = batch_correspondence_loss if section.negatives.get(params.profile) == "batch" else correspondence_loss
    stage = Stage(
        "correspondence",
        loader,
        loss,
        epochs=epochs,
        model=initialised(build, name, params, data_root),
        steps_per_epoch=profile.max_steps_per_epoch,
        optimizer=optimizer,
    )
    sections = ("baselines", "shards", "profile", "profiles", "pretrain") + weights_sections(params, name)
    return Recipe(name, [stage], params_sections=sections)
