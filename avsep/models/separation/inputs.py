"""From loader batches to the network's inputs and targets.

Training batches come from :func:`avsep.shards.separation_view` (already at 11.025 kHz); evaluation batches
from :func:`avsep.shards.nmix_view` (stored at the dataset's rate, 16 kHz) are resampled
(:func:`avsep.features.resample`) and fitted to the window first (:func:`from_nmix`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from avsep.config.separation import SeparationScale
from avsep.features import SOP, resample
from avsep.models.separation.guidance import class_targets
from avsep.models.separation.spectral import stft, stft_frames, warped_magnitude
from avsep.models.separation.vision import normalise_frames


def scale_of(params) -> SeparationScale:
    """The separation settings of the active profile (``separation.paper`` or ``separation.demo``)."""
    return getattr(params.separation, params.profile)


def mixture_spectrogram(waves: torch.Tensor, params) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_mag (B, 1, Fq, T), mix_mag (B, Fq, T))`` of mixtures ``(B, S)`` at ``shards.separation.sample_rate``:
    the warped magnitude the U-Net reads (``Fq`` = the profile's ``n_bins``) and its log, as in :func:`prepare`."""
    mix_mag = warped_magnitude(stft(waves.contiguous()), scale_of(params).n_bins)
    return torch.log(mix_mag + params.separation.log_eps).unsqueeze(1), mix_mag


def _fit(waves: torch.Tensor, length: int) -> torch.Tensor:
    """Crop or zero-pad the last axis to ``length``."""
    if waves.shape[-1] >= length:
        return waves[..., :length]
    return F.pad(waves, (0, length - waves.shape[-1]))


def from_nmix(batch: dict, params, rate_in: int) -> dict:
    """A stored N-mix batch (``mix (B, S_in)``, ``sources (B, N, S_in)`` at ``rate_in``, ``frames (B, N, F_all, 3, H,
    W)``, ``classes``) → the separation view's layout at ``shards.separation.sample_rate``: ``mix (B, S)``,
    ``sources (B, N, S)``, ``frames (B, N, n_frames, 3, H, W)`` evenly spaced, ``labels [B][N][names]``."""
    sep = params.shards.separation
    mix, sources = batch["mix"].float(), batch["sources"].float()
    if rate_in != sep.sample_rate:
        mix, sources = resample(mix, rate_in, sep.sample_rate), resample(sources, rate_in, sep.sample_rate)
    frames = batch["frames"]
    n_all = frames.shape[2]
    index = ((torch.arange(sep.n_frames) + 0.5) * n_all / sep.n_frames).long().clamp(max=n_all - 1)
    return {
        "mix": _fit(mix, sep.window_samples),
        "sources": _fit(sources, sep.window_samples),
        "frames": frames[:, :, index],
        "labels": [[[c] for c in row] for row in batch["classes"]],
        "keys": batch.get("key"),
    }


@dataclass
class Prepared:
    """Network inputs and targets of one batch (Fq = log-frequency rows, T = STFT frames)."""

    log_mag: torch.Tensor  # (B, 1, Fq, T) log of the warped mixture magnitude
    mix_mag: torch.Tensor  # (B, Fq, T)
    source_mags: torch.Tensor  # (B, N, Fq, T)
    mix_spec: torch.Tensor  # (B, F, T) complex mixture STFT (its phase is reused at reconstruction)
    frames: torch.Tensor  # (B, N, F, 3, S, S) normalised
    targets: torch.Tensor  # (B, N, C) multi-hot class tags
    mix: torch.Tensor  # (B, S) waves
    sources: torch.Tensor  # (B, N, S)
    frames_raw: torch.Tensor  # (B, N, F, 3, H, W) uint8 as loaded (the object variant's localizer reads these)
    flip: torch.Tensor | None = None  # (B, N) bool: components whose ``frames`` were flipped (training only)


def prepare(batch: dict, params, *, train: bool) -> Prepared:
    """``batch`` in the separation view's layout (on the model's device) → :class:`Prepared`.

    Training flips each component's frames horizontally with probability 1/2 (``separation.flip``) and, when
    the profile sets ``train_frames``, crops the spectrograms to that many STFT frames at a random offset (the
    U-Net is fully convolutional: the test sees the whole window); both are drawn from torch's generator, which
    the trainer seeds and checkpoints. A cropped batch's ``mix_spec`` holds the cropped frames only (training
    reads magnitudes; reconstruction runs on uncropped test batches)."""
    sep, scale = params.separation, scale_of(params)
    mix, sources = batch["mix"].float(), batch["sources"].float()
    b, n, length = sources.shape
    flip = None
    n_frames = SOP.n_frames(length)
    if train and sep.flip:
        flip = torch.rand(b, n, device=mix.device) < 0.5
    if train and scale.train_frames is not None and scale.train_frames < n_frames:
        start = int(torch.randint(n_frames - scale.train_frames + 1, ()))
        mix_spec = stft_frames(mix, start, scale.train_frames)
        source_specs = stft_frames(sources.reshape(b * n, length), start, scale.train_frames)
    else:
        mix_spec, source_specs = stft(mix), stft(sources.reshape(b * n, length))
    mix_mag = warped_magnitude(mix_spec, scale.n_bins)
    source_mags = warped_magnitude(source_specs, scale.n_bins).reshape(b, n, scale.n_bins, -1)
    frames = normalise_frames(batch["frames"], scale.image_size or params.active_profile().image_size, flip)
    return Prepared(
        log_mag=torch.log(mix_mag + sep.log_eps).unsqueeze(1),
        mix_mag=mix_mag,
        source_mags=source_mags,
        mix_spec=mix_spec,
        frames=frames,
        targets=class_targets(batch["labels"], mix.device),
        mix=mix,
        sources=sources,
        frames_raw=batch["frames"],
        flip=flip,
    )
