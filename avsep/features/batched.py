"""Batched front ends in torch: ``(B, N)`` tensors on any device, the same numbers as librosa.

In the waves' dtype, one step at a time over a group of clips (on the CPU, groups whose frames fit in cache;
elsewhere the whole batch): the frames, a strided view of the waves windowed into one tensor; ``torch.fft.rfft``;
the magnitude; the mel filterbank as a few products over only the bins each band of mels covers; the ``top_db``
floor and the log in place. Window, filterbank and bands are built once per (front end, dtype, device). On the
CPU the magnitude and the logarithm are numpy's SIMD loops, several times faster than torch's at one thread;
elsewhere (CUDA) every step is torch's. docs/features.md has the measurements behind each choice.

In float32, values more than ~80 dB (in power) below a clip's peak are FFT rounding noise in *both*
implementations and need not agree; pass float64 waves when those matter (see docs/features.md).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from avsep.features.frontend import FrontEnd
from avsep.features.melbank import mel_filterbank_torch

# On the CPU a batch goes through in groups of clips whose frames take about this many bytes, so that each step's
# output is still in cache when the next step reads it: the whole batch at once spills every step to memory (64
# VGGish clips: 65 MB of frames) and was no faster than librosa clip by clip; groups of 2 MB made it about 3x
# faster, and DSOL's 64 clips (8 MB of frames) about 1.2x (docs/features.md).
CPU_GROUP_BYTES = 2 << 20
# On CPU tensors, numpy's SIMD loops take the magnitude and the logarithm (several times faster than torch's at one
# thread; docs/features.md). False: torch's kernels, the path every other device takes (tests run it on the CPU).
CPU_NUMPY_KERNELS = True


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


@lru_cache(maxsize=64)
def _window_on(frontend: FrontEnd, dtype: torch.dtype, device: str) -> torch.Tensor:
    """(n_fft,): the periodic Hann window of ``window_length`` samples zero-padded to ``n_fft`` on both sides
    (librosa's ``pad_center``, as ``torch.stft``), built once in float64 and cast."""
    window = torch.hann_window(frontend.window_length, periodic=True, dtype=torch.float64)
    left = (frontend.n_fft - frontend.window_length) // 2
    window = F.pad(window, (left, frontend.n_fft - frontend.window_length - left))
    return window.to(device=device, dtype=dtype)


# Mels per band of the filterbank product (:func:`_mel_bands_on`).
MELS_PER_BAND = 16
MelBand = tuple[int, int, int, int, torch.Tensor]  # (low, high, first, stop, weights)


@lru_cache(maxsize=64)
def _mel_bands_on(frontend: FrontEnd, dtype: torch.dtype, device: str) -> tuple[MelBand, ...]:
    """The mel filterbank cut into bands of :data:`MELS_PER_BAND` mels, each with the only FFT bins its triangles
    cover: ``(low, high, first, stop, weights)`` with ``spectrum[:, low:high] @ weights = mel[:, first:stop]``.

    The bank is mostly zeros (DSOL: 155 of 81 x 64 weights are not), and the triangles of neighbouring mels
    cover neighbouring bins, so four products over their own bins do about a quarter of the work of one dense
    product: on the CPU about 2x faster for a group of DSOL clips, and the same numbers (only zero terms
    dropped)."""
    bank = mel_filterbank_torch(frontend, dtype=dtype, device=device)  # (F, n_mels)
    used = (bank != 0).cpu()
    bands = []
    for first in range(0, bank.shape[1], MELS_PER_BAND):
        stop = min(first + MELS_PER_BAND, bank.shape[1])
        rows = used[:, first:stop].any(dim=1).nonzero().flatten()
        low, high = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
        bands.append((low, high, first, stop, bank[low:high, first:stop].contiguous()))
    return tuple(bands)


def _frame_count(n_samples: int, frontend: FrontEnd) -> int:
    """Frames of a clip of ``n_samples``: ``1 + (n + 2·(n_fft // 2) − n_fft) // hop`` centred (``1 + n // hop``
    for an even ``n_fft``), ``1 + (n − n_fft) // hop`` not."""
    padding = 2 * (frontend.n_fft // 2) if frontend.center else 0
    return 1 + (n_samples + padding - frontend.n_fft) // frontend.hop_length


def _windowed_frames(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """(B, N) → (B, T, n_fft): the frames of the waves (padded by ``n_fft // 2`` on both sides if centred), a
    strided view, times the window into one contiguous tensor: the FFT's input."""
    if frontend.center:
        half = frontend.n_fft // 2
        # F.pad's reflect mode works on (B, C, N); constant padding is exact either way.
        waves = F.pad(waves[:, None], (half, half), mode=frontend.pad_mode)[:, 0]
    frames = waves.unfold(-1, frontend.n_fft, frontend.hop_length)
    return frames * _window_on(frontend, waves.dtype, str(waves.device))


def _spectrum(waves: torch.Tensor, frontend: FrontEnd, power: float) -> torch.Tensor:
    """``|STFT| ** power``, time first: (B, N) → (B, T, F)."""
    spec = torch.fft.rfft(_windowed_frames(waves, frontend), dim=-1)  # (B, T, F) complex
    if CPU_NUMPY_KERNELS and spec.device.type == "cpu":
        # numpy's complex abs is SIMD (AVX2/AVX-512) and one pass; torch's is a scalar hypot, and re² + im² then a
        # root is three passes over strided halves: about 3× slower at one thread.
        magnitude = torch.from_numpy(np.abs(spec.numpy()))
        if power == 1.0:
            return magnitude
        return magnitude.square_() if power == 2.0 else magnitude.pow_(power)
    energy = spec.real.square().addcmul_(spec.imag, spec.imag)
    if power == 2.0:
        return energy
    return energy.sqrt_() if power == 1.0 else energy.pow_(power / 2.0)


def _log_(values: torch.Tensor, base10: bool) -> torch.Tensor:
    """``log10`` (``base10``) or ``ln`` in place."""
    if CPU_NUMPY_KERNELS and values.device.type == "cpu":
        # numpy's SIMD logarithms are about 4× torch's at one thread.
        array = values.numpy()
        (np.log10 if base10 else np.log)(array, out=array)
        return values
    return values.log10_() if base10 else values.log_()


@torch.no_grad()
def stft_magnitude_torch(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """``|STFT|`` of a batch: waves (B, N) float at ``frontend.sample_rate`` → (B, F, T), F = n_fft // 2 + 1."""
    check_waves(waves, frontend)
    return _spectrum(waves, frontend, power=1.0).transpose(-1, -2)


@torch.no_grad()
def logmel_torch(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """Log-mel of a batch: waves (B, N) float at ``frontend.sample_rate`` → (B, T, n_mels), time first.

    Equal to :func:`avsep.features.reference.logmel_librosa` clip by clip (``top_db`` is applied per clip)
    within 0.01 dB. Features are model inputs: computed without autograd, with in-place steps. On the CPU
    the batch goes through in groups of clips (:data:`CPU_GROUP_BYTES`); each clip's numbers do not depend
    on the group it is in.
    """
    check_waves(waves, frontend)
    bands = _mel_bands_on(frontend, waves.dtype, str(waves.device))  # raises for a front end without mels
    batch, n_frames, n_mels = waves.shape[0], _frame_count(waves.shape[-1], frontend), bands[-1][3]
    out = waves.new_empty(batch, n_frames, n_mels)
    step = batch
    if waves.device.type == "cpu":
        step = max(1, CPU_GROUP_BYTES // (n_frames * frontend.n_fft * waves.element_size()))
    for start in range(0, batch, step):
        _logmel_into(waves[start : start + step], frontend, bands, out[start : start + step])
    return out


def _logmel_into(waves: torch.Tensor, frontend: FrontEnd, bands: tuple[MelBand, ...], out: torch.Tensor) -> None:
    """The log-mel of (b, N) waves written into ``out`` (b, T, n_mels), a contiguous slice of the result."""
    spectrum = _spectrum(waves, frontend, power=frontend.spectrum_power)  # (b, T, F)
    spectrum, mel = spectrum.reshape(-1, spectrum.shape[-1]), out.view(-1, out.shape[-1])
    for low, high, first, stop, weights in bands:
        if high > low:
            torch.mm(spectrum[:, low:high], weights, out=mel[:, first:stop])
        else:
            mel[:, first:stop] = 0.0
    if frontend.log == "log":
        _log_(out.add_(frontend.log_eps), base10=False)
    else:
        power_to_db_(out, frontend)


def power_to_db_(mel: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """``librosa.power_to_db`` in place on (B, T, F): ``top_db`` floors each clip at its own maximum.

    The floor is applied before the logarithm, in one clamp with ``amin``: ``max(S, amin, peak·10^(−top_db/10))``
    is the same as flooring the dB values at ``max_dB − top_db`` (the log is monotonic), without a pass
    over the dB values for their maximum and another for the floor.
    """
    reference_db = 10.0 * math.log10(max(frontend.amin, frontend.ref))
    if frontend.top_db is None:
        mel = mel.clamp_(min=frontend.amin)
    else:
        peak = mel.amax(dim=(-2, -1), keepdim=True).clamp_(min=frontend.amin)  # (B, 1, 1)
        mel = torch.clamp(mel, min=peak.mul_(10.0 ** (-frontend.top_db / 10.0)).clamp_(min=frontend.amin), out=mel)
    logmel = _log_(mel, base10=True).mul_(10.0)
    if reference_db != 0.0:  # ref = 1 (every preset): subtracting 0 would be a pass for nothing
        logmel = logmel.sub_(reference_db)
    return logmel
