"""Sound of Pixels' spectral front end and its inverse: complex STFT, log-frequency warp, masks back to waves.

Forward: waves (B, S) at 11.025 kHz → complex STFT (B, 512, T) (n_fft 1022, hop 256, Hann, centred,
reflect padding: the ``sop`` preset) → magnitude warped to 256 log-frequency rows (``logfreq_warp``).
Inverse: a mask on the warped grid (B, 256, T) is sampled back onto the 512 linear rows (the inverse of the
warp); :mod:`avsep.models.separation.reconstruct` applies it to the mixture and inverts the STFT.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from avsep.features import SOP, FrontEnd, logfreq_warp_torch
from avsep.features.warp import _WARP_BASE, _WARP_OFFSET, _WARP_SCALE


def stft(waves: torch.Tensor, frontend: FrontEnd = SOP) -> torch.Tensor:
    """Complex STFT: waves (B, S) float → (B, F, T) complex, F = n_fft // 2 + 1."""
    if waves.dim() != 2 or not waves.is_floating_point():
        raise ValueError(f"waves: expected float (B, S), got {tuple(waves.shape)} {waves.dtype}")
    frontend.check_length(waves.shape[-1], "waves")
    return torch.stft(
        waves,
        frontend.n_fft,
        frontend.hop_length,
        window=_window(waves, frontend),
        center=frontend.center,
        pad_mode=frontend.pad_mode,
        return_complex=True,
    )


def stft_frames(waves: torch.Tensor, start: int, count: int, frontend: FrontEnd = SOP) -> torch.Tensor:
    """Frames ``start .. start + count - 1`` of :func:`stft` ``(B, F, count)``, transforming only the samples they
    read: the wave is padded as the centred STFT pads it (a 64-frame training crop of a 256-frame window costs
    a quarter of the whole STFT)."""
    half = frontend.n_fft // 2
    padded = F.pad(waves.unsqueeze(1), (half, half), mode=frontend.pad_mode).squeeze(1) if frontend.center else waves
    first = start * frontend.hop_length
    segment = padded[:, first : first + (count - 1) * frontend.hop_length + frontend.n_fft]
    return torch.stft(
        segment, frontend.n_fft, frontend.hop_length, window=_window(waves, frontend), center=False, return_complex=True
    )


def _window(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    return torch.hann_window(frontend.n_fft, periodic=True, dtype=waves.dtype, device=waves.device)


def warped_magnitude(spec: torch.Tensor, n_bins: int) -> torch.Tensor:
    """``|spec|`` (B, F, T) complex → (B, n_bins, T) on the log-frequency grid."""
    return logfreq_warp_torch(spec.abs(), n_bins).clamp_(min=0.0)  # bilinear of non-negatives; clamp rounding


def unwarp(mask: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """A mask on the warped grid (B, n_bins, T) → (B, n_freqs, T) on the linear rows (SoP ``warp=False`` grid).

    Linear row f sits at normalised coordinate g in [-1, 1]; the warp put g at
    ``y = 2 log(SCALE·g + OFFSET) / log(BASE) − 1`` (inverse of ``g(y) = (BASE^((y+1)/2) − OFFSET) / SCALE``).
    """
    batch, _, n_frames = mask.shape
    g = torch.linspace(-1.0, 1.0, n_freqs, dtype=mask.dtype, device=mask.device)
    y = 2.0 * torch.log(_WARP_SCALE * g + _WARP_OFFSET) / math.log(_WARP_BASE) - 1.0
    x = torch.linspace(-1.0, 1.0, n_frames, dtype=mask.dtype, device=mask.device)
    grid = torch.stack(torch.broadcast_tensors(x[None, :], y[:, None]), dim=-1)  # (n_freqs, T, 2)
    out = F.grid_sample(
        mask.unsqueeze(1), grid.expand(batch, -1, -1, -1), mode="bilinear", padding_mode="border", align_corners=True
    )
    return out.squeeze(1)
