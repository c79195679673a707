"""The DMC network: two streams, a per-position fc into a shared space, and the multimodal clustering."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.dmc import DMCParams
from avsep.models.common.clustering import agreement, soft_cluster
from avsep.models.common.maps import as_maps, as_vectors
from avsep.models.common.streams import TwoStream


class DMC(nn.Module):
    """``forward(frames (B, 3, H, W), logmel (B, 1, T, F))`` → dict of

    - ``visual_centres (B, kv, C)``, ``audio_centres (B, ka, C)`` (Algorithm 1's outputs),
    - ``visual_assignments (B, kv, h, w)``, ``audio_assignments (B, ka, t, f)`` (soft segmentations),
    - ``visual_features (B, h·w, C)``: the clustered per-position features.

    :meth:`agreement_maps` gives ``(B, kv, h, w)``: −d_ij of each position with each final visual centre (the
    logits of ``visual_assignments`` before z; ``heatmap: agreement``). Only ``localize`` needs them, so
    training does not compute them.

    C = 8·width. ``projections (K, C, C)`` are the centre-specific W_j shared by both modalities
    (``projection: centre_specific``); with ``shared`` the clustering runs on the fc features directly.
    """

    def __init__(
        self,
        cfg: DMCParams,
        width: int,
        image_size: int,
        imagenet_frames: bool = False,
        crop: bool = False,
        front_end: str = "stored",
    ):
        super().__init__()
        self.cfg = cfg
        # the log-mel it is fed (avsep.models.common.inputs.batch_logmel): stored, or a preset from the audio
        self.front_end = front_end
        self.streams = TwoStream(width, image_size, imagenet_frames, crop)
        channels = self.streams.channels
        self.visual_fc = nn.Conv2d(channels, channels, 1)  # "fc 512→512 per position"
        self.audio_fc = nn.Conv2d(channels, channels, 1)
        self.projections = None
        if cfg.projection == "centre_specific":
            count = max(cfg.visual_clusters, cfg.audio_clusters)
            weights = torch.empty(count, channels, channels)
            for w in weights:  # distinct W_j break the symmetry of Algorithm 1's uniform start
                nn.init.orthogonal_(w)
            self.projections = nn.Parameter(weights)

    def cluster(self, features: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``features (B, N, C)`` → ``centres (B, k, C)``, ``assignments (B, N, k)`` (Algorithm 1)."""
        cfg = self.cfg
        return soft_cluster(
            features, k, cfg.iterations, getattr(cfg.z, cfg.distance), cfg.distance, self.projections, cfg.init
        )

    def forward(self, frames: torch.Tensor, logmel: torch.Tensor) -> dict[str, torch.Tensor]:
        visual, audio = self.streams(frames, logmel)
        visual, audio = self.visual_fc(visual), self.audio_fc(audio)
        if self.cfg.normalize:
            visual, audio = F.normalize(visual, dim=1), F.normalize(audio, dim=1)
        uv = as_vectors(visual)
        cv, sv = self.cluster(uv, self.cfg.visual_clusters)
        ca, sa = self.cluster(as_vectors(audio), self.cfg.audio_clusters)
        hw = visual.shape[-2:]
        return {
            "visual_centres": cv,
            "audio_centres": ca,
            "visual_assignments": as_maps(sv, *hw),
            "audio_assignments": as_maps(sa, *audio.shape[-2:]),
            "visual_features": uv,
        }

    def agreement_maps(self, out: dict) -> torch.Tensor:
        """``(B, kv, h, w)``: −d_ij of each position of ``out`` (this model's output) with each visual centre."""
        hw = out["visual_assignments"].shape[-2:]
        return as_maps(
            agreement(out["visual_features"], out["visual_centres"], self.cfg.distance, self.projections), *hw
        )
