"""DSOL's network: audiovisual localization (stage one), dictionary-based class maps (stage two).

One module serves both stages and evaluation, so checkpoints of either stage load into :func:`build`'s model.
State that the clustering (``after_epoch``) writes lives in buffers: the dictionary, the cluster-to-class
matching and the contingency it came from.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from avsep.models.common.backbones import ResNet18

# DSOL keeps a 14x14 map at 224 px (stride 16), and 13x4 for a 201x64 log-mel: the last stage is not strided.
DSOL_STRIDES = (1, 2, 2, 1)


class DSOLNet(nn.Module):
    """Vision and audio ResNet-18, embedding heads, the learned sigmoid scale, pseudo-label heads, the
    dictionary and its class conv, and a frozen copy of the audio classifier (the stage-two teacher).

    width: backbone base channels (C = 8 * width features); clusters: k; n_classes: evaluation classes.
    image_size, use_prod, test_scale: how the predict functions feed frames and read the class maps.
    class_weighting: "matrix" (a k x k 1x1 conv over the cluster maps) or "scalar" (one weight and bias for all).
    """

    # The buffers registered in __init__ (declared for the type checker).
    dictionary: torch.Tensor
    cluster_class: torch.Tensor
    contingency: torch.Tensor
    rounds: torch.Tensor
    teacher_ready: torch.Tensor

    def __init__(
        self,
        width: int,
        embed_dim: int,
        clusters: int,
        n_classes: int,
        scale_init: float,
        mask_threshold: float,
        mask_dilation: int,
        image_size: int = 224,
        use_prod: bool = True,
        test_scale: float = 3.0,
        crop: bool = False,
        front_end: str = "stored",
        class_weighting: str = "matrix",
    ):
        super().__init__()
        # how predict feeds it: frames cropped or resized (frames_to_input), the log-mel stored or computed
        # from the audio (avsep.models.common.inputs.batch_logmel)
        self.crop, self.front_end = crop, front_end
        self.vision = ResNet18(3, width, DSOL_STRIDES)
        self.audio = ResNet18(1, width, DSOL_STRIDES)
        channels = self.vision.out_channels
        self.vision_head = nn.Sequential(
            nn.Conv2d(channels, embed_dim, 1), nn.ReLU(inplace=True), nn.Conv2d(embed_dim, embed_dim, 1)
        )
        self.audio_head = nn.Sequential(
            nn.Linear(channels, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, embed_dim)
        )
        self.scale = nn.Conv2d(1, 1, 1, bias=False)  # the "parameterized sigmoid": sigmoid(w * cos)
        nn.init.constant_(self.scale.weight, scale_init)
        self.vision_cls = nn.Linear(channels, clusters)  # pseudo-label heads (alternating classification)
        self.audio_cls = nn.Linear(channels, clusters)
        # stage two's weighting of f . D^T, starting as Eq. 4 exactly: "matrix" a k x k 1x1 conv, "scalar" one
        # weight and one bias shared by every cluster map (the released code's 1x1x1 conv)
        self.class_weighting = class_weighting
        width_in = clusters if class_weighting == "matrix" else 1
        self.class_conv = nn.Conv2d(width_in, width_in, 1)
        with torch.no_grad():
            self.class_conv.weight.copy_(torch.eye(width_in)[:, :, None, None])
            assert self.class_conv.bias is not None  # built with a bias (nn.Conv2d's default)
            self.class_conv.bias.zero_()
        self.teacher_audio = copy.deepcopy(self.audio)  # filled at the end of stage one, then frozen
        self.teacher_cls = copy.deepcopy(self.audio_cls)
        for p in (*self.teacher_audio.parameters(), *self.teacher_cls.parameters()):
            p.requires_grad_(False)
        self.register_buffer("dictionary", torch.zeros(clusters, channels))  # D (Eq. 3), rows = keys d_k
        self.register_buffer("cluster_class", torch.full((clusters,), -1, dtype=torch.long))
        self.register_buffer("contingency", torch.zeros(clusters, n_classes))  # stage-one clips per (k, class)
        self.register_buffer("rounds", torch.zeros((), dtype=torch.long))  # clustering rounds done
        self.register_buffer("teacher_ready", torch.zeros((), dtype=torch.bool))
        self.mask_threshold, self.mask_dilation = mask_threshold, mask_dilation
        self.clusters, self.n_classes = clusters, n_classes
        self.image_size, self.use_prod, self.test_scale = image_size, use_prod, test_scale

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher_audio.eval()  # the teacher's BatchNorm statistics stay those of stage one
        return self

    def audio_features(self, logmel: torch.Tensor) -> torch.Tensor:
        """``logmel: (B, 1, T, F)`` -> ``(B, C)``: the audio map's global max."""
        return self.audio(logmel).amax(dim=(2, 3))

    def localization_logits(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``visual: (B, C, h, w)`` features, ``audio: (B, C)`` -> ``(B, h, w)`` pre-sigmoid map w * cos."""
        v = F.normalize(self.vision_head(visual), dim=1)
        a = F.normalize(self.audio_head(audio), dim=1)
        cosine = torch.einsum("bchw,bc->bhw", v, a)
        return self.scale(cosine[:, None])[:, 0]

    def object_mask(self, loc_map: torch.Tensor) -> torch.Tensor:
        """``(B, h, w)`` map in [0, 1] -> ``(B, h, w)`` float mask: map > threshold, dilated; a frame whose
        mask is empty keeps every pixel (Eq. 2 would divide by zero)."""
        mask = (loc_map > self.mask_threshold).float()
        if self.mask_dilation:
            size = 2 * self.mask_dilation + 1
            mask = F.max_pool2d(mask[:, None], size, stride=1, padding=self.mask_dilation)[:, 0]
        empty = mask.flatten(1).sum(1) == 0
        return torch.where(empty[:, None, None], torch.ones_like(mask), mask)

    @staticmethod
    def object_features(visual: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Eq. 2: o = GAP(f * m) over the masked pixels. ``visual (B, C, h, w)``, ``mask (B, h, w)`` -> (B, C)."""
        weights = mask[:, None]
        return (visual * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3)).clamp_min(1.0)  # DSOL Eq. 2

    def object_maps(self, visual: torch.Tensor) -> torch.Tensor:
        """Eq. 4: m_k = d_k . f at every pixel, through the class conv. ``(B, C, h, w)`` -> ``(B, k, h, w)``."""
        raw = torch.einsum("bchw,kc->bkhw", visual, self.dictionary.to(visual.dtype))  # DSOL Eq. 4
        if self.class_weighting == "scalar":
            return self.class_conv(raw.flatten(0, 1)[:, None]).view_as(raw)
        return self.class_conv(raw)

    def forward(
        self,
        frame: torch.Tensor,
        logmel: torch.Tensor,
        negative: torch.Tensor | None = None,
        classes: bool = False,
        pseudo: bool = False,
    ) -> dict[str, torch.Tensor]:
        """``frame: (B, 3, S, S)`` normalised, ``logmel: (B, 1, T, F)``; ``negative: (B,) long`` rows whose frames
        are row i's negatives. Returns ``logits (B, h, w)`` and ``map`` = sigmoid(logits) for (a_i, v_i);
        ``neg_logits`` with ``negative``; ``object_maps (B, k, h, w)`` and ``teacher_logits (B, k)`` with
        ``classes``; ``vision_cls``/``audio_cls`` (B, k) pseudo-label logits with ``pseudo``."""
        visual = self.vision(frame)
        audio = self.audio_features(logmel)
        logits = self.localization_logits(visual, audio)
        out = {"logits": logits, "map": torch.sigmoid(logits), "visual": visual, "audio": audio}
        if negative is not None:
            out["neg_logits"] = self.localization_logits(visual[negative], audio)
        if classes:
            out["object_maps"] = self.object_maps(visual)
            with torch.no_grad():
                out["teacher_logits"] = self.teacher_cls(self.teacher_audio(logmel).amax(dim=(2, 3)))
        if pseudo:
            mask = self.object_mask(out["map"].detach())
            out["vision_cls"] = self.vision_cls(self.object_features(visual, mask))
            out["audio_cls"] = self.audio_cls(audio)
        return out

    @torch.no_grad()
    def freeze_teacher(self) -> None:
        """Copy the current audio network and pseudo-label audio head into the frozen teacher (end of stage one)."""
        self.teacher_audio.load_state_dict(self.audio.state_dict())
        self.teacher_cls.load_state_dict(self.audio_cls.state_dict())
        self.teacher_ready.fill_(True)
