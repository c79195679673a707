"""MSSL's network: audio (CRNN or ResNet-18) and vision ResNet-18 (strides 1/2/2/1), class heads, the
audiovisual-correspondence (AVC) classifier and the alignment projections.

Feature names follow the paper: ``O_v`` is the vision layer3 output and ``F_a`` the audio features before the
GRU (the AVC inputs); ``E_r`` / ``F_r`` are each modality's last feature map (class maps and pooling).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from avsep.models.common.backbones import ResNet18

MSSL_STRIDES = (1, 2, 2, 1)  # a 16x16 visual map at 256 px


def _conv_bn(cin: int, cout: int, kernel, stride=1, dilation=1) -> nn.Sequential:
    padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, (dilation, 1))) if isinstance(kernel, tuple) else 0
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, dilation=(dilation, 1), padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class CRNN(nn.Module):
    """Audio CRNN: four conv blocks (3x3 conv, BN, ReLU, 2x2 max pool) then a bidirectional GRU over time.

    ``(B, 1, T, F)`` -> ``F_a (B, C, T/16, F/16)`` (before the GRU) and ``E_a (B, C, T/16, 1)`` (GRU output as a
    one-column map over time)."""

    def __init__(self, width: int):
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width]
        blocks, cin = [], 1
        for cout in widths:
            blocks += [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            cin = cout
        self.convs = nn.Sequential(*blocks)
        self.out_channels = widths[-1]
        self.gru = nn.GRU(self.out_channels, self.out_channels // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fa = self.convs(x)
        seq, _ = self.gru(fa.mean(3).transpose(1, 2))  # (B, T', C)
        return fa, seq.transpose(1, 2)[..., None]


class ResNetAudio(nn.Module):
    """Audio ResNet-18 (1-channel stem): ``F_a`` = layer3 output, ``E_a`` = layer4 output."""

    def __init__(self, width: int):
        super().__init__()
        self.net = ResNet18(1, width, MSSL_STRIDES)
        self.out_channels = self.net.out_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fa = self.net.layers[:3](self.net.stem(x))
        return fa, self.net.layers[3](fa)


class MSSLNet(nn.Module):
    """Both backbones, class heads (1x1 conv C -> K, averaged), AVC branches + MLP, projections g_a, g_v.

    ``forward(frame, logmel, negative=None)`` returns ``E_v (B, C, h, w)``, ``E_a (B, C, t, f)``, class-map
    logits ``cam_v``/``cam_a`` (B, K, ., .), class ``logits_v``/``logits_a`` (B, K), ``avc`` (B, 2) for
    (a_i, v_i) and, with ``negative``, ``avc_neg`` for (a_i, v_negative[i]); with ``align``, the projected
    class features ``emb_a``/``emb_v`` (B, K, E) (Eq. 4-6; the class maps only weight, they are detached)."""

    def __init__(
        self,
        width: int,
        n_classes: int,
        audio: str,
        avc_hidden: int,
        proj_hidden: int,
        embed_dim: int,
        cam: str = "gradcam",
        mode: str = "full",
        class_threshold: float = 0.3,
        image_size: int = 256,
        localization: str = "fine",
        crop: bool = False,
        front_end: str = "stored",
        valid_classes: str = "threshold",
    ):
        super().__init__()
        # how predict feeds it: frames cropped or resized (frames_to_input), the log-mel stored or computed
        # from the audio (avsep.models.common.inputs.batch_logmel)
        self.crop, self.front_end = crop, front_end
        self.vision = ResNet18(3, width, MSSL_STRIDES)
        self.audio = CRNN(width) if audio == "crnn" else ResNetAudio(width)
        channels = self.vision.out_channels
        fa_channels = channels if audio == "crnn" else channels // 2
        self.cls_v = nn.Conv2d(channels, n_classes, 1)
        self.cls_a = nn.Conv2d(channels, n_classes, 1)
        # AVC branches (MSSL Fig. 3): audio 3x1 (time dilation 2), 1x2 (freq stride 2), 3x1; vision a layer4 copy
        self.avc_audio = nn.Sequential(
            _conv_bn(fa_channels, channels, (3, 1), dilation=2),
            _conv_bn(channels, channels, (1, 2), stride=(1, 2)),
            _conv_bn(channels, channels, (3, 1)),
        )
        down = nn.Sequential(nn.Conv2d(channels // 2, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.avc_vision = nn.Sequential(BasicBlock(channels // 2, channels, 1, down), BasicBlock(channels, channels))
        self.avc_head = nn.Sequential(
            nn.Linear(2 * channels, avc_hidden), nn.ReLU(inplace=True), nn.Linear(avc_hidden, 2)
        )
        self.proj_a = nn.Sequential(
            nn.Linear(channels, proj_hidden), nn.ReLU(inplace=True), nn.Linear(proj_hidden, embed_dim)
        )
        self.proj_v = nn.Sequential(
            nn.Linear(channels, proj_hidden), nn.ReLU(inplace=True), nn.Linear(proj_hidden, embed_dim)
        )
        self.cam, self.mode, self.class_threshold, self.image_size = cam, mode, class_threshold, image_size
        self.localization = localization  # full mode's maps at test: "fine" (Eq. 8) or "coarse_to_fine"
        self.valid_classes = valid_classes  # classes the maps keep: "threshold_or_argmax" or "threshold"

    def _avc(self, ov: torch.Tensor, fa_pooled: torch.Tensor) -> torch.Tensor:
        v = self.avc_vision(ov).amax(dim=(2, 3))
        return self.avc_head(torch.cat([fa_pooled, v], 1))

    def forward(
        self, frame: torch.Tensor, logmel: torch.Tensor, negative: torch.Tensor | None = None, align: bool = False
    ) -> dict[str, torch.Tensor]:
        ov = self.vision.layers[:3](self.vision.stem(frame))
        ev = self.vision.layers[3](ov)
        fa, ea = self.audio(logmel)
        cam_v, cam_a = self.cls_v(ev), self.cls_a(ea)
        fa_pooled = self.avc_audio(fa).amax(dim=(2, 3))
        out = {
            "E_v": ev,
            "E_a": ea,
            "O_v": ov,
            "cam_v": cam_v,
            "cam_a": cam_a,
            "logits_v": cam_v.mean(dim=(2, 3)),
            "logits_a": cam_a.mean(dim=(2, 3)),
            "avc": self._avc(ov, fa_pooled),
        }
        if negative is not None:
            out["avc_neg"] = self._avc(ov[negative], fa_pooled)
        if align:
            wa, wv = self.class_maps(ea, self.cls_a).detach(), self.class_maps(ev, self.cls_v).detach()  # Eq. 4
            out["emb_a"] = self.embed_audio(self.class_pooled(ea, wa))  # Eq. 5-6
            out["emb_v"] = F.normalize(self.proj_v(self.class_pooled(ev, wv)), dim=-1)
        return out

    def class_maps(self, features: torch.Tensor, head: nn.Conv2d) -> torch.Tensor:
        """Eq. 4: ``W^c`` (B, K, h, w) >= 0 from a feature map and its class head.

        The heads are a 1x1 conv followed by a global average, so Grad-CAM's channel weights (the spatial mean
        of d logit_c / d F) are exactly ``w_c / (h w)``: Grad-CAM = ReLU(w_c . F) / (h w), computed in closed form
        (no backward pass). ``cam``: ReLU of the class conv itself (with its bias), the released code's variant.
        """
        if self.cam == "cam":
            return F.relu(head(features))
        h, w = features.shape[-2:]
        return F.relu(torch.einsum("bchw,kc->bkhw", features, head.weight[:, :, 0, 0])) / (h * w)  # MSSL Eq. 4

    @staticmethod
    def class_pooled(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Eq. 5: ``f^c = sum_uv E(u,v) W^c(u,v) / sum_uv W^c(u,v)``.

        ``features (B, C, h, w)``, ``weights (B, K, h, w)`` -> ``(B, K, C)``."""
        num = torch.einsum("bchw,bkhw->bkc", features, weights)
        return num / weights.sum(dim=(2, 3))[..., None].clamp_min(1e-6)  # MSSL Eq. 5

    def embed_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        """g_a: ``(..., C)`` -> L2-normalised ``(..., E)``."""
        return F.normalize(self.proj_a(pooled), dim=-1)

    def embed_visual_map(self, ev: torch.Tensor) -> torch.Tensor:
        """g_v at every position (the fc layers as 1x1 convs, Eq. 8): ``(B, C, h, w)`` -> ``(B, E, h, w)``."""
        return F.normalize(self.proj_v(ev.permute(0, 2, 3, 1)), dim=-1).permute(0, 3, 1, 2)
