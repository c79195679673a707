"""The DMC network: two streams, a per-position fc into a shared space, and the multimodal clustering."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsep.config.dmc import DMCParams
from avsep.models.common.clustering import agreement, soft_cluster
from avsep.models.common.maps import as_maps, as_vectors
from avsep.models.common.streams import TwoStream


def squash(feature_map: torch.Tensor, gain: float) -> torch.Tensor:
    """``(B, C, h, w)`` → the same with each position's vector u scaled to ``tanh(gain·‖u‖)·u/‖u‖``: norms in
    [0, 1), directions kept. The released DMC code squashes so before its clustering layer, which keeps Eq. 7's
    sums (and the softmax of −d) on a bounded scale whatever the backbone's activations."""
    norm = feature_map.norm(dim=1, keepdim=True)
    return feature_map * (torch.tanh(gain * norm) / norm.clamp_min(1e-12))


class DMC(nn.Module):
    """``forward(frames (B, 3, H, W), logmel (B, 1, T, F))`` → dict of

    - ``visual_centres (B, kv, C)``, ``audio_centres (B, ka, C)`` (Algorithm 1's outputs),
    - ``visual_assignments (B, kv, h, w)``, ``audio_assignments (B, ka, t, f)`` (soft segmentations),
    - ``visual_features (B, h·w, C)``: the clustered per-position features.

    The active profile (``profile``) picks the per-profile choices of ``cfg``: ``heatmap`` (what ``localize``
    draws), ``squash`` and ``centre_dim``.

    :meth:`agreement_maps` gives ``(B, kv, h, w)``: −d_ij of each position with each final visual centre (the
    logits of ``visual_assignments`` before z; ``heatmap: agreement``). Only ``localize`` needs them, so
    training does not compute them.

    C = 8·width. ``projections (K, C, M)`` are the centre-specific W_j shared by both modalities
    (``projection: centre_specific``), M = ``centre_dim`` (C when null); with ``shared`` the clustering runs on
    the fc features directly, so M = C.
    """

    def __init__(
        self,
        cfg: DMCParams,
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
        self.heatmap, self.squash = cfg.heatmap.get(profile), cfg.squash.get(profile)
        self.streams = TwoStream(width, image_size, imagenet_frames, crop)
        channels = self.streams.channels
        centre_dim = cfg.centre_dim.get(profile)
        self.visual_fc = nn.Conv2d(channels, channels, 1)  # "fc 512→512 per position"
        self.audio_fc = nn.Conv2d(channels, channels, 1)
        self.projections = None
        if cfg.projection == "centre_specific":
            count = max(cfg.visual_clusters, cfg.audio_clusters)
            weights = torch.empty(count, channels, centre_dim or channels)
            for w in weights:  # distinct W_j break the symmetry of Algorithm 1's uniform start
                nn.init.orthogonal_(w)
            self.projections = nn.Parameter(weights)
        elif centre_dim is not None and centre_dim != channels:
            raise ValueError(
                f"dmc.centre_dim.{profile} = {centre_dim}: projection shared clusters the {channels}-dimensional "
                "features themselves; set it null or use projection centre_specific"
            )

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
        if self.squash:
            visual, audio = squash(visual, self.cfg.squash_gain), squash(audio, self.cfg.squash_gain)
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
