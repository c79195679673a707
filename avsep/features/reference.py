"""The CPU reference: librosa, one clip at a time, numpy in and out.

These functions define the numbers; :mod:`avsep.features.batched` must reproduce them. They compute in
the wave's own precision (float32 waves give float32 arithmetic, as the papers' data preparation did;
pass float64 for a reference free of float32 rounding).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import librosa
import numpy as np
from numpy.typing import DTypeLike

from avsep.features.frontend import FrontEnd


def check_wave(wave: np.ndarray, frontend: FrontEnd, name: str = "wave") -> np.ndarray:
    """Return ``wave`` if it is a finite 1-D float array long enough for ``frontend``; else raise ValueError."""
    if not isinstance(wave, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array (samples,), got {type(wave).__name__}")
    if wave.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array (samples,), got shape {wave.shape}")
    if not np.issubdtype(wave.dtype, np.floating):
        raise ValueError(f"{name}: expected float samples in [-1, 1], got dtype {wave.dtype}")
    frontend.check_length(wave.shape[-1], name)
    if not np.isfinite(wave).all():
        raise ValueError(f"{name}: contains NaN or infinite samples")
    return wave


def stft_magnitude_librosa(wave: np.ndarray, frontend: FrontEnd) -> np.ndarray:
    """``|STFT|`` of one clip.

    wave: (N,) float at ``frontend.sample_rate``. Returns (F, T) with F = n_fft // 2 + 1 and
    T = ``frontend.n_frames(N)`` (frequency first, as librosa and Sound of Pixels lay it out).
    """
    check_wave(wave, frontend)
    spec = librosa.stft(
        wave,
        n_fft=frontend.n_fft,
        hop_length=frontend.hop_length,
        win_length=frontend.window_length,
        window="hann",
        center=frontend.center,
        pad_mode=frontend.pad_mode,
    )
    return np.abs(spec)


def mel_filterbank_librosa(frontend: FrontEnd, dtype: DTypeLike = np.float64) -> np.ndarray:
    """The mel filterbank of ``frontend``: (n_mels, F) weights (read-only, cached)."""
    return _mel_filterbank(frontend, np.dtype(dtype))


@lru_cache(maxsize=64)
def _mel_filterbank(frontend: FrontEnd, dtype: np.dtype) -> np.ndarray:
    # Cached: building the bank costs about as much as the rest of a 1 s DSOL clip.
    if frontend.n_mels is None:
        raise ValueError(
            f"front end {frontend.name!r} has no mel filterbank (n_mels is None); "
            "use stft_magnitude_* (and logfreq_warp) instead"
        )
    with warnings.catch_warnings():
        # Small FFTs (DSOL: 81 bins for 64 mels) leave some low filters empty; the papers lived with it.
        warnings.filterwarnings("ignore", message="Empty filters detected")
        bank = librosa.filters.mel(
            sr=frontend.sample_rate,
            n_fft=frontend.n_fft,
            n_mels=frontend.n_mels,
            fmin=frontend.fmin,
            fmax=frontend.mel_fmax,
            htk=frontend.mel_scale == "htk",
            norm=frontend.mel_norm,
            dtype=dtype,
        )
    bank.flags.writeable = False
    return bank


def logmel_librosa(wave: np.ndarray, frontend: FrontEnd) -> np.ndarray:
    """Log-mel spectrogram of one clip.

    wave: (N,) float at ``frontend.sample_rate``. Returns (T, n_mels) float32, time first (the papers
    transpose librosa's (n_mels, T) before the audio network), e.g. (201, 64) for DSOL's 1 s at 16 kHz.
    """
    spectrum = stft_magnitude_librosa(wave, frontend) ** frontend.spectrum_power
    mel = mel_filterbank_librosa(frontend, dtype=spectrum.dtype) @ spectrum  # (n_mels, T)
    if frontend.log == "power_to_db":
        logmel = librosa.power_to_db(mel, ref=frontend.ref, amin=frontend.amin, top_db=frontend.top_db)
    else:
        logmel = np.log(mel + frontend.log_eps)
    return np.ascontiguousarray(logmel.T, dtype=np.float32)
