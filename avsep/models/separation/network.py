"""The mix-and-separate network: audio U-Net + a guidance branch + synthesizer, one guidance per model."""

from __future__ import annotations

import torch
from torch import nn

from avsep.config.separation import GUIDANCE_VARIANTS
from avsep.models.separation.guidance import ClassHead, disentangled_audio, gradcam_masks
from avsep.models.separation.synthesizer import Synthesizer
from avsep.models.separation.unet import AudioUNet
from avsep.models.separation.vision import VisionNet, max_pool_guidance, object_pool_guidance


class SeparationNet(nn.Module):
    """``guidance``: ``frame`` (SoP), ``object`` (map-pooled visual feature) or ``audio`` (class-disentangled
    audio feature; its class maps also give the ``gradcam`` masks).

    forward(log_mag (B, 1, Fq, T), frames (B, N, F, 3, S, S) normalised, maps (B, N, F, h, w) [object],
    targets (B, N, C) multi-hot [audio]) → ``{"logits": (B, N, Fq, T)}`` plus, for ``audio``,
    ``"class_logits": (B, C)`` and ``"gradcam": (B, N, Fq, T)`` masks in [0, 1].
    """

    def __init__(
        self, guidance: str, unet_filters: int, channels: int, depth: int, class_level: int, vision_width: int
    ):
        super().__init__()
        if guidance not in GUIDANCE_VARIANTS or guidance == "gradcam":
            raise ValueError(
                f"guidance {guidance!r}: a model is trained for 'frame', 'object' or 'audio' "
                "(gradcam uses the audio model's class maps)"
            )
        self.guidance = guidance
        self.unet = AudioUNet(unet_filters, channels, depth, class_level)
        self.synthesizer = Synthesizer(channels)
        if guidance == "audio":
            self.class_head = ClassHead(self.unet.class_channels)
            self.audio_projection = nn.Linear(self.unet.class_channels, channels)
        else:
            self.vision = VisionNet(vision_width, channels)

    def param_groups(self, lr_sound: float, lr_frame: float, lr_synth: float, lr_head: float) -> list[dict]:
        """SoP's per-part learning rates (the class head and projection learn at the sound rate): ``lr_frame``
        for the visual backbone, ``lr_head`` for the visual head (the 3×3 convolution to K channels, SoP's
        ``net_frame.fc``, which SoP trains at the sound rate). When the two visual rates agree the visual net
        is one group, so the optimizer's state keeps the layout of the checkpoints written before the head
        had its own rate."""
        sound = [p for name, p in self.named_parameters() if not name.startswith(("vision.", "synthesizer."))]
        groups = [{"params": sound, "lr": lr_sound}, {"params": list(self.synthesizer.parameters()), "lr": lr_synth}]
        if hasattr(self, "vision"):
            if lr_head == lr_frame:
                groups.append({"params": list(self.vision.parameters()), "lr": lr_frame})
            else:
                groups.append({"params": list(self.vision.backbone.parameters()), "lr": lr_frame})
                groups.append({"params": list(self.vision.head.parameters()), "lr": lr_head})
        return groups

    def visual_guidance(self, frames: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        """The ``frame`` or ``object`` guidance vectors ``(B, N, K)`` in [0, 1] of frames ``(B, N, F, 3, S, S)``
        (normalised) and, for ``object``, localization maps ``(B, N, F, h, w)``."""
        feats = self.vision(frames)
        if self.guidance == "frame":
            return max_pool_guidance(feats)
        if maps is None:
            raise ValueError("object guidance needs localization maps (B, N, F, h, w)")
        return object_pool_guidance(feats, maps)

    def forward(
        self,
        log_mag: torch.Tensor,
        frames: torch.Tensor | None = None,
        maps: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        audio, class_features = self.unet(log_mag)
        out: dict[str, torch.Tensor] = {}
        if self.guidance == "audio":
            if targets is None:
                raise ValueError("audio guidance needs targets (B, N, C): each component's class tags")
            out["class_logits"], cams = self.class_head(class_features)
            guidance = torch.sigmoid(self.audio_projection(disentangled_audio(class_features, cams, targets)))
            out["gradcam"] = gradcam_masks(cams, targets, (log_mag.shape[-2], log_mag.shape[-1]))
        else:
            if frames is None:
                raise ValueError(f"{self.guidance} guidance needs frames (B, N, F, 3, S, S)")
            guidance = self.visual_guidance(frames, maps)
        out["logits"] = self.synthesizer(guidance, audio)
        return out
