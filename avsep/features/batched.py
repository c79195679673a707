"""Batched front ends with torchaudio: ``(B, N)`` tensors on any device, the same numbers as librosa.

Arithmetic runs in the waves' dtype. In float32, values more than ~80 dB (in power) below a clip's peak
are FFT rounding noise in *both* implementations and need not agree; pass float64 waves when those
matter (see docs/features.md).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torchaudio.functional as AF

from avsep.features.frontend import FrontEnd
from avsep.features.melbank import mel_filterbank_torch


@lru_cache(maxsize=16)
def _resampler(orig_freq: int, new_freq: int, dtype: torch.dtype, device: str) -> torch.nn.Module:
    import torchaudio.transforms as T

    return T.Resample(orig_freq, new_freq, dtype=dtype).to(device)


def resample(waves: torch.Tensor, orig_freq: int, new_freq: int) -> torch.Tensor:
    """``(..., N)`` float waves from ``orig_freq`` to ``new_freq`` Hz: torchaudio's windowed-sinc resampling with
    its kernel built once per (rates, dtype, device) and reused, where ``torchaudio.functional.resample`` rebuilds
    it on every call (for 16 kHz -> 11.025 kHz that is most of the cost; ``avsep bench resample``)."""
    if orig_freq == new_freq:
        return waves
    with torch.no_grad():
        return _resampler(int(orig_freq), int(new_freq), waves.dtype, str(waves.device))(waves)


def check_waves(waves: torch.Tensor, frontend: FrontEnd, name: str = "waves") -> torch.Tensor:
    """Return ``waves`` if it is a finite (B, N) float tensor long enough for ``frontend``; else raise."""
    if not isinstance(waves, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (B, N), got {type(waves).__name__}")
    if waves.dim() != 2:
        raise ValueError(f"{name}: expected shape (B, N) (a batch of mono clips), got {tuple(waves.shape)}")
    if not waves.is_floating_point():
        raise ValueError(f"{name}: expected float samples in [-1, 1], got dtype {waves.dtype}")
    if waves.shape[0] == 0:
        raise ValueError(f"{name}: empty batch (B = 0)")
    frontend.check_length(waves.shape[-1], name)
    # A sum is far cheaper than isfinite().all() and is non-finite whenever a sample is.
    if not bool(torch.isfinite(waves.sum())) and not bool(torch.isfinite(waves).all()):
        raise ValueError(f"{name}: contains NaN or infinite samples")
    return waves


def _spectrum(waves: torch.Tensor, frontend: FrontEnd, power: float) -> torch.Tensor:
    """``|STFT| ** power``: (B, N) → (B, F, T)."""
    window = torch.hann_window(frontend.window_length, periodic=True, dtype=waves.dtype, device=waves.device)
    spec = AF.spectrogram(
        waves,
        pad=0,
        window=window,
        n_fft=frontend.n_fft,
        hop_length=frontend.hop_length,
        win_length=frontend.window_length,
        power=None,
        normalized=False,
        center=frontend.center,
        pad_mode=frontend.pad_mode,
    )
    # re² + im² avoids the hypot of a complex abs; power 2 then needs no root at all.
    energy = spec.real.square().addcmul_(spec.imag, spec.imag)
    if power == 2.0:
        return energy
    return energy.sqrt_() if power == 1.0 else energy.pow_(power / 2.0)


@torch.no_grad()
def stft_magnitude_torch(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """``|STFT|`` of a batch: waves (B, N) float at ``frontend.sample_rate`` → (B, F, T), F = n_fft // 2 + 1."""
    check_waves(waves, frontend)
    return _spectrum(waves, frontend, power=1.0)


@torch.no_grad()
def logmel_torch(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """Log-mel of a batch: waves (B, N) float at ``frontend.sample_rate`` → (B, T, n_mels), time first.

    Equal to :func:`avsep.features.reference.logmel_librosa` clip by clip (``top_db`` is applied per clip).
    Features are model inputs: computed without autograd, with in-place steps.
    """
    check_waves(waves, frontend)
    fbank = mel_filterbank_torch(frontend, dtype=waves.dtype, device=waves.device)  # (F, n_mels)
    spectrum = _spectrum(waves, frontend, power=frontend.spectrum_power)  # (B, F, T)
    mel = spectrum.transpose(-1, -2).contiguous() @ fbank  # (B, T, n_mels)
    if frontend.log == "log":
        return mel.add_(frontend.log_eps).log_()
    return power_to_db_(mel, frontend)


def power_to_db_(mel: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """``librosa.power_to_db`` in place on (B, T, F): ``top_db`` floors each clip at its own maximum.

    In place rather than ``torchaudio.functional.amplitude_to_DB`` (same formula): its three temporaries
    cost ~15% of a DSOL batch on the CPU.
    """
    reference_db = 10.0 * math.log10(max(frontend.amin, frontend.ref))
    logmel = mel.clamp_(min=frontend.amin).log10_().mul_(10.0).sub_(reference_db)
    if frontend.top_db is not None:
        floor = logmel.amax(dim=(-2, -1), keepdim=True) - frontend.top_db  # (B, 1, 1)
        logmel = torch.maximum(logmel, floor, out=logmel)
    return logmel
