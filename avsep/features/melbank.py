"""The mel filterbank as a torch tensor, built the way librosa builds it (Slaney or HTK scale, Slaney norm).

Why not ``torchaudio.functional.melscale_fbanks``: it places the FFT bins on
``linspace(0, sample_rate // 2, n_freqs)``, so at odd rates (Sound of Pixels' 11025 Hz) every bin sits
slightly off librosa's ``k * sample_rate / n_fft`` and log-mels differ by ~0.1 dB; it also builds in
float32. Here the weights are computed in float64 on the exact bin frequencies and then cast, so the two
implementations share one filterbank to ~1e-7 relative.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from avsep.features.frontend import FrontEnd

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above
# (a factor 6.4 every 27 mels). HTK: 2595 * log10(1 + f / 700).
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_LOG_STEP = math.log(6.4) / 27.0
_HTK_SCALE, _HTK_CORNER_HZ = 2595.0, 700.0


def hz_to_mel(hz: torch.Tensor, scale: str) -> torch.Tensor:
    """Frequencies in Hz → mels on ``scale`` ("slaney" or "htk"); any shape."""
    if scale == "htk":
        return _HTK_SCALE * torch.log10(1.0 + hz / _HTK_CORNER_HZ)
    break_mel = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
    log_part = break_mel + torch.log(torch.clamp(hz, min=_SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return torch.where(hz >= _SLANEY_BREAK_HZ, log_part, hz / _SLANEY_HZ_PER_MEL)


def mel_to_hz(mel: torch.Tensor, scale: str) -> torch.Tensor:
    """Mels on ``scale`` → Hz; the inverse of :func:`hz_to_mel`."""
    if scale == "htk":
        return _HTK_CORNER_HZ * (10.0 ** (mel / _HTK_SCALE) - 1.0)
    break_mel = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
    log_part = _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOG_STEP * (mel - break_mel))
    return torch.where(mel >= break_mel, log_part, mel * _SLANEY_HZ_PER_MEL)


@lru_cache(maxsize=32)
def _filterbank_float64(frontend: FrontEnd) -> torch.Tensor:
    if frontend.n_mels is None:
        raise ValueError(
            f"front end {frontend.name!r} has no mel filterbank (n_mels is None); "
            "use stft_magnitude_* (and logfreq_warp) instead"
        )
    f64 = torch.float64
    bin_hz = torch.arange(frontend.n_freqs, dtype=f64) * (frontend.sample_rate / frontend.n_fft)
    mel_edges = torch.linspace(
        float(hz_to_mel(torch.tensor(frontend.fmin, dtype=f64), frontend.mel_scale)),
        float(hz_to_mel(torch.tensor(frontend.mel_fmax, dtype=f64), frontend.mel_scale)),
        frontend.n_mels + 2,
        dtype=f64,
    )
    edges_hz = mel_to_hz(mel_edges, frontend.mel_scale)  # (n_mels + 2,)
    width = edges_hz[1:] - edges_hz[:-1]  # (n_mels + 1,)
    offset = edges_hz[:, None] - bin_hz[None, :]  # (n_mels + 2, F)
    rising = -offset[:-2] / width[:-1, None]
    falling = offset[2:] / width[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (n_mels, F) triangles
    if frontend.mel_norm == "slaney":
        # Each triangle scaled to unit area in Hz, so bands of any width carry comparable energy.
        weights = weights * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.T.contiguous()  # (F, n_mels)


def mel_filterbank_torch(
    frontend: FrontEnd, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """The mel filterbank of ``frontend``: (F, n_mels) weights, so that ``spectrum (…, T, F) @ fb``."""
    return _filterbank_on(frontend, dtype, str(torch.device(device)))


@lru_cache(maxsize=64)
def _filterbank_on(frontend: FrontEnd, dtype: torch.dtype, device: str) -> torch.Tensor:
    # Cached per device so a training loop does not copy the weights to the GPU every batch.
    return _filterbank_float64(frontend).to(device=device, dtype=dtype)
