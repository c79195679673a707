"""The counter's network: a motion CNN, the audio ResNet-18 and the vision ResNet-18, pooled into a Poisson
log-rate per member."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.features import logmel_torch
from avsep.features.presets import frontend_from_params
from avsep.models.common.backbones import ResNet18, imagenet_frames
from avsep.models.common.streams import STRIDES, prepare_frames


def motion_input(motion: torch.Tensor, size: int) -> torch.Tensor:
    """A batch of motion maps ``(B, 1, H, W)`` (grey-level std over time, :func:`avsep.shards.windows.motion_of`)
    → ``(B, 1, size, size)``: ``log(1 + std)``, area-resized. The log keeps faint and bright objects on one
    scale."""
    if motion.ndim != 4 or motion.shape[1] != 1:
        raise ValueError(f"motion: expected (B, 1, H, W), got shape {tuple(motion.shape)}")
    out = torch.log1p(motion.float())
    return out if out.shape[-2:] == (size, size) else F.interpolate(out, size=(size, size), mode="area")


class MotionNet(nn.Module):
    """``(B, 1, S, S)`` motion map → ``(B, C, S/32, S/32)``: five stride-2 3x3 convolutions and one more, each
    with GroupNorm and ReLU; C = 4·width (the channels double every second layer)."""

    def __init__(self, width: int):
        super().__init__()
        layers, channels = [], 1
        for i in range(5):
            out = width * 2 ** min(i // 2, 2)
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.GroupNorm(4, out), nn.ReLU(inplace=True)]
            channels = out
        layers += [nn.Conv2d(channels, channels, 3, 1, 1), nn.GroupNorm(4, channels), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.net(motion)


class Counter(nn.Module):
    """``forward(motion (B, 1, S, S) or None, logmel (B, 1, T, F) or None, frames (B, 3, S, S) or None)`` →
    ``log_rate (B,)``: log of the expected number of sound sources, the mean over ``members`` independent
    counters (:class:`CounterMember`) trained side by side on the same batches (``per_member=True``: each
    member's, ``(B, members)``). :meth:`inputs` makes the inputs from a batch's ``motion``, ``audio`` and
    ``frame``. ``imagenet_frames``: frames normalised with ImageNet statistics (a vision net that starts from
    ``backbones.visual_weights``)."""

    def __init__(
        self,
        width: int,
        image_size: int,
        streams: tuple[str, ...],
        frontend,
        members: int = 1,
        imagenet_frames: bool = False,
        motion_size: int | None = None,
    ):
        super().__init__()
        if members < 1:
            raise ValueError(f"Counter: members = {members}, need at least 1")
        self.image_size, self.streams, self.frontend = image_size, tuple(streams), frontend
        self.imagenet_frames = imagenet_frames
        self.motion_size = motion_size or image_size
        self.members = nn.ModuleList(CounterMember(width, self.streams) for _ in range(members))

    def inputs(self, motion: torch.Tensor | None, waves: torch.Tensor | None, frames: torch.Tensor | None = None):
        """The network's ``(motion, log-mel, frames)`` inputs from a batch's ``motion`` maps (B, 1, H, W),
        ``waves`` (B, N) and ``frames`` (B, 3, H, W), each None for a stream the counter does not have."""
        return self.motion_input(motion), self.logmel(waves), self.frame_input(frames)

    def frame_input(self, frames: torch.Tensor | None) -> torch.Tensor | None:
        """``(B, 3, S, S)`` frames in [−1, 1] (:func:`prepare_frames` at the profile's image size); None without
        the visual stream."""
        if "visual" not in self.streams:
            return None
        if frames is None:
            raise ValueError("Counter.frame_input: the counter has a visual stream but the batch has no 'frame'")
        return prepare_frames(frames, self.image_size, self.imagenet_frames)

    def motion_input(self, motion: torch.Tensor | None) -> torch.Tensor | None:
        """:func:`motion_input` at ``motion_size`` (the profile's image size unless set); None without the
        motion stream."""
        if "motion" not in self.streams:
            return None
        if motion is None:
            raise ValueError("Counter.motion_input: the counter has a motion stream but the batch has no 'motion'")
        return motion_input(motion, self.motion_size)

    def logmel(self, waves: torch.Tensor | None) -> torch.Tensor | None:
        """``(B, 1, T, n_mels)`` log-mel of ``waves`` (B, N) with the features preset; None without audio."""
        if "audio" not in self.streams:
            return None
        if waves is None:
            raise ValueError("Counter.logmel: the counter has an audio stream but the batch has no 'audio'")
        return logmel_torch(waves.float(), self.frontend)[:, None]

    def forward(
        self,
        motion: torch.Tensor | None,
        logmel: torch.Tensor | None,
        frames: torch.Tensor | None = None,
        per_member: bool = False,
    ) -> torch.Tensor:
        rates = torch.stack([member(motion, logmel, frames) for member in self.members], dim=1)
        return rates if per_member else rates.mean(1)


class CounterMember(nn.Module):
    """One counter: ``forward(motion, logmel, frames)`` → ``(B,)`` log-rate, a linear function of the mean- and
    max-pooled features of each stream in ``streams`` (:class:`MotionNet`; the audio ResNet-18; the vision
    ResNet-18: CAVL's audiovisual counter is ``[visual, audio]``)."""

    def __init__(self, width: int, streams: tuple[str, ...]):
        super().__init__()
        self.streams, features = tuple(streams), 0
        if "motion" in self.streams:
            self.motion = MotionNet(width)
            features += 2 * self.motion.out_channels
        if "audio" in self.streams:
            self.audio_norm = nn.BatchNorm2d(1)
            self.audio = ResNet18(1, width, STRIDES)
            features += 2 * self.audio.out_channels
        if "visual" in self.streams:  # built after the others: their initial weights stay those of today's draws
            self.vision = ResNet18(3, width, STRIDES)
            features += 2 * self.vision.out_channels
        self.head = nn.Linear(features, 1)

    def forward(
        self, motion: torch.Tensor | None, logmel: torch.Tensor | None, frames: torch.Tensor | None = None
    ) -> torch.Tensor:
        pooled = []
        if "motion" in self.streams:
            v = self.motion(motion).flatten(2)
            pooled += [v.mean(2), v.amax(2)]
        if "audio" in self.streams:
            a = self.audio(self.audio_norm(logmel)).flatten(2)
            pooled += [a.mean(2), a.amax(2)]
        if "visual" in self.streams:
            f = self.vision(frames).flatten(2)
            pooled += [f.mean(2), f.amax(2)]
        return self.head(torch.cat(pooled, dim=1))[:, 0]


def build(params) -> Counter:
    """The counter of the active profile's ``counting.streams`` and ``counting.members``, width and image size."""
    profile = params.active_profile()
    return Counter(
        profile.backbone_width,
        profile.image_size,
        tuple(params.counting.streams.get(params.profile)),
        frontend_from_params(params.features),
        params.counting.members.get(params.profile),
        imagenet_frames(params, "counting"),
        params.counting.motion_size.get(params.profile),
    )
