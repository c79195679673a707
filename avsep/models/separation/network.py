"""The mix-and-separate network: audio U-Net + a guidance branch + synthesizer, one guidance per model."""

from __future__ import annotations

import torch
from torch import nn

from avsep.config.separation import GUIDANCE_VARIANTS
from avsep.models.separation.co_separation import SpectrogramClassifier, object_classes, separated_log_magnitudes
from avsep.models.separation.guidance import ClassHead, disentangled_audio, gradcam_masks
from avsep.models.separation.synthesizer import Synthesizer
from avsep.models.separation.unet import AudioUNet
from avsep.models.separation.vision import VisionNet, max_pool_guidance, object_pool_guidance


class SeparationNet(nn.Module):
    """``guidance``: ``frame`` (SoP), ``object`` (map-pooled visual feature), ``audio`` (class-disentangled
    audio feature; its class maps also give the ``gradcam`` masks) or ``co_separation`` (one map-pooled visual
    feature per object, :mod:`avsep.models.separation.co_separation`).

    forward(log_mag (B, 1, Fq, T), frames (B, N, F, 3, S, S) normalised, maps (B, N, F, h, w) [object] or
    (B, N, O, F, h, w) [co_separation, O objects from :func:`object_classes` of targets], targets (B, N, C)
    multi-hot [audio, co_separation]) → ``{"logits": (B, N, Fq, T)}`` plus, for ``audio``, ``"class_logits":
    (B, C)`` and ``"gradcam": (B, N, Fq, T)`` masks in [0, 1]; ``co_separation`` gives ``"object_logits": (B, N,
    O, Fq, T)`` and ``"valid": (B, N, O)`` instead of ``"logits"`` (a video's mask is the sum of its objects'),
    and with ``mix_mag (B, Fq, T)`` (training) the consistency classifier's ``"object_class_logits": (B, N, O,
    C)`` on each object's separated spectrogram (``mask``, ``ratio_max``, ``log_eps``: how it is masked).
    ``dilated``: the vision net's last stage dilated as SoP's (:func:`~avsep.models.separation.vision.
    dilate_last_stage`).
    """

    def __init__(
        self,
        guidance: str,
        unet_filters: int,
        channels: int,
        depth: int,
        class_level: int,
        vision_width: int,
        dilated: bool = False,
        mask: str = "binary",
        ratio_max: float = 5.0,
        log_eps: float = 1e-10,
    ):
        super().__init__()
        self.mask, self.ratio_max, self.log_eps = mask, ratio_max, log_eps  # co_separation's classifier input
        if guidance not in GUIDANCE_VARIANTS or guidance == "gradcam":
            raise ValueError(
                f"guidance {guidance!r}: a model is trained for 'frame', 'object', 'audio' or 'co_separation' "
                "(gradcam uses the audio model's class maps)"
            )
        self.guidance = guidance
        self.unet = AudioUNet(unet_filters, channels, depth, class_level)
        self.synthesizer = Synthesizer(channels)
        if guidance == "audio":
            self.class_head = ClassHead(self.unet.class_channels)
            self.audio_projection = nn.Linear(self.unet.class_channels, channels)
        else:
            self.vision = VisionNet(vision_width, channels, dilated)
        if guidance == "co_separation":
            self.classifier = SpectrogramClassifier(vision_width)

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
            raise ValueError(f"{self.guidance} guidance needs localization maps (B, N, [O,] F, h, w)")
        if self.guidance == "co_separation":
            if maps.dim() != 6:
                raise ValueError(f"co_separation guidance: maps (B, N, O, F, h, w), got {tuple(maps.shape)}")
            return torch.stack([object_pool_guidance(feats, maps[:, :, o]) for o in range(maps.shape[2])], dim=2)
        return object_pool_guidance(feats, maps)

    def classify_objects(self, mix_mag: torch.Tensor, object_logits: torch.Tensor) -> torch.Tensor:
        """Co-Separation's consistency classifier on each object's separated spectrogram: ``mix_mag (B, Fq, T)``,
        ``object_logits (B, N, O, Fq, T)`` → class logits ``(B, N, O, C)``."""
        log_mags = separated_log_magnitudes(mix_mag, object_logits, self.mask, self.ratio_max, self.log_eps)
        logits = self.classifier(log_mags.reshape(-1, 1, *log_mags.shape[-2:]))
        return logits.reshape(*log_mags.shape[:3], -1)

    def forward(
        self,
        log_mag: torch.Tensor,
        frames: torch.Tensor | None = None,
        maps: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        mix_mag: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        audio, class_features = self.unet(log_mag)
        out: dict[str, torch.Tensor] = {}
        if self.guidance == "audio":
            if targets is None:
                raise ValueError("audio guidance needs targets (B, N, C): each component's class tags")
            out["class_logits"], cams = self.class_head(class_features)
            guidance = torch.sigmoid(self.audio_projection(disentangled_audio(class_features, cams, targets)))
            out["gradcam"] = gradcam_masks(cams, targets, (log_mag.shape[-2], log_mag.shape[-1]))
        elif self.guidance == "co_separation":
            if frames is None or targets is None:
                raise ValueError("co_separation guidance needs frames (B, N, F, 3, S, S) and targets (B, N, C)")
            _, _, valid = object_classes(targets)
            guidance = self.visual_guidance(frames, maps)  # (B, N, O, K)
            b, n, o, k = guidance.shape
            logits = self.synthesizer(guidance.reshape(b, n * o, k), audio)
            out["object_logits"] = logits.reshape(b, n, o, *logits.shape[-2:])
            out["valid"] = valid
            if mix_mag is not None:
                out["object_class_logits"] = self.classify_objects(mix_mag, out["object_logits"])
            return out
        else:
            if frames is None:
                raise ValueError(f"{self.guidance} guidance needs frames (B, N, F, 3, S, S)")
            guidance = self.visual_guidance(frames, maps)
        out["logits"] = self.synthesizer(guidance, audio)
        return out
