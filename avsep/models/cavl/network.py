"""The CAVL network: two streams and a soft k-means over the channel features of each modality.

Each position of a feature map is a point in channel space; k centres per modality stand for k sounds and
k objects (plus ``background_clusters`` visual centres for the rest of the frame), and each centre's soft
assignment is a spatial mask over its map. Features are L2-normalised before clustering, so the magnitude
``z`` of softmax(−z·d) has the same meaning at every width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.cavl import CAVLParams
from avsep.models.common.clustering import agreement, soft_cluster
from avsep.models.common.maps import as_maps, as_vectors
from avsep.models.common.streams import TwoStream


class CAVL(nn.Module):
    """``forward(frames (B, 3, H, W), logmel (B, 1, T, F), k)`` → dict of

    - ``audio_centres (B, k, C)`` and ``visual_centres (B, k + background, C)``,
    - ``audio_assignments (B, k, t, f)`` and ``visual_assignments (B, k + background, h, w)`` (masks),
    - ``audio_features (B, t·f, C)`` and ``visual_features (B, h·w, C)`` (unit vectors, for scene-level
      alignment and probes),
    - ``visual_strength (B, h, w)``: the per-position norm of the visual features before normalisation.

    ``k`` (sounds in the scene) is an argument, not a weight: the curriculum changes it stage by stage on the
    same network. ``heatmap`` is the active profile's (``profile``) ``cavl.heatmap``, what ``localize`` draws.
    """

    def __init__(
        self,
        cfg: CAVLParams,
        width: int,
        image_size: int,
        imagenet_frames: bool = False,
        crop: bool = False,
        front_end: str = "stored",
        profile: str = "demo",
    ):
        super().__init__()
        self.cfg = cfg
        # the log-mel it is fed (avsep.models.common.inputs.batch_logmel): stored, or a preset from the audio
        self.front_end = front_end
        self.heatmap = cfg.heatmap.get(profile)
        self.streams = TwoStream(width, image_size, imagenet_frames, crop)
        channels = self.streams.channels
        self.visual_fc = nn.Conv2d(channels, channels, 1)
        self.audio_fc = nn.Conv2d(channels, channels, 1)

    def cluster(self, features: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``features (B, N, C)`` → soft k-means ``centres (B, k, C)``, ``assignments (B, N, k)``."""
        return soft_cluster(features, k, self.cfg.iterations, self.cfg.z, "euclidean", None, "spaced")

    def forward(self, frames: torch.Tensor, logmel: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        if k < 1:
            raise ValueError(f"k = {k}: a scene needs at least one sound")
        visual, audio = self.streams(frames, logmel)
        visual, audio = self.visual_fc(visual), self.audio_fc(audio)
        uv, ua = self.normalized(as_vectors(visual)), self.normalized(as_vectors(audio))
        cv, sv = self.cluster(uv, k + self.cfg.background_clusters)
        ca, sa = self.cluster(ua, k)
        hw = visual.shape[-2:]
        return {
            "visual_centres": cv,
            "audio_centres": ca,
            "visual_assignments": as_maps(sv, *hw),
            "audio_assignments": as_maps(sa, *audio.shape[-2:]),
            "visual_features": uv,
            "audio_features": ua,
            "visual_strength": visual.norm(dim=1),
        }

    def agreement_maps(self, out: dict) -> torch.Tensor:
        """``(B, k + background, h, w)``: −d of each position of ``out`` (this model's output) to each visual
        centre (``heatmap: agreement | weighted``; only ``localize`` needs them, so training does not compute them)."""
        hw = out["visual_assignments"].shape[-2:]
        return as_maps(agreement(out["visual_features"], out["visual_centres"], "euclidean"), *hw)

    def normalized(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, C)`` per-position features as clustered: unit vectors (``normalize: unit``, the paper) or
        divided by the frame's mean per-position norm (``frame``)."""
        if self.cfg.normalize == "unit":
            return F.normalize(features, dim=-1)
        if self.cfg.normalize == "frame":
            return features / features.norm(dim=-1).mean(1)[:, None, None].clamp_min(1e-12)
        raise ValueError(f"cavl.normalize {self.cfg.normalize!r}: expected 'unit' or 'frame'")

    def audio_embedding(self, logmel: torch.Tensor) -> torch.Tensor:
        """``(B, 1, T, F)`` → ``(B, C)`` global-average-pooled audio backbone features (for linear probes)."""
        return self.streams.audio(self.streams.audio_norm(logmel)).mean((2, 3))
