"""Reconstruction and what the report shows of it: separated waves, WAV files and spectrogram figures.

Waves: the mask (on the warped grid) is sampled back to the linear rows, multiplied with the mixture's complex
STFT (masked mixture magnitude, mixture phase), inverted and clipped to [-1, 1] (Sound of Pixels' evaluation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: evaluation runs on servers and in CI
import matplotlib.pyplot as plt
import numpy as np
import torch

from avsep.features import SOP, FrontEnd
from avsep.io import atomic_write_bytes, save_png
from avsep.models.separation.spectral import stft, unwarp, warped_magnitude
from avsep.shards.codec import encode_wav

PANEL_INCHES = 2.6
DPI = 100
DB_RANGE = 80.0  # dB below the figure's peak shown; quieter bins are drawn at the floor


def masked_waves(mix_spec: torch.Tensor, masks: torch.Tensor, length: int, frontend: FrontEnd = SOP) -> torch.Tensor:
    """mix_spec: (B, F, T) complex; masks: (B, N, n_bins, T) in [0, 1] on the warped grid → waves (B, N, length)."""
    batch, n_src, n_bins, n_frames = masks.shape
    linear = unwarp(masks.reshape(batch * n_src, n_bins, n_frames).to(mix_spec.real.dtype), mix_spec.shape[1])
    return linear_masked_waves(mix_spec, linear.reshape(batch, n_src, -1, n_frames), length, frontend)


def linear_masked_waves(
    mix_spec: torch.Tensor, masks: torch.Tensor, length: int, frontend: FrontEnd = SOP
) -> torch.Tensor:
    """mix_spec: (B, F, T) complex; masks (B, N, F, T) on the linear rows → waves (B, N, length) in [-1, 1]."""
    batch, n_src = masks.shape[:2]
    spec = (mix_spec.unsqueeze(1) * masks).reshape(batch * n_src, *mix_spec.shape[1:])
    window = torch.hann_window(frontend.n_fft, periodic=True, dtype=masks.dtype, device=masks.device)
    waves = torch.istft(spec, frontend.n_fft, frontend.hop_length, window=window, center=frontend.center, length=length)
    return waves.clamp(-1.0, 1.0).reshape(batch, n_src, length)


def write_wavs(
    folder: str | Path, mixture: np.ndarray, truth: np.ndarray, estimate: np.ndarray, sample_rate: int
) -> list[Path]:
    """``mix.wav``, ``src{n}-truth.wav``, ``src{n}-estimate.wav`` in ``folder``: mixture (S,), truth and estimate
    (N, S) in [-1, 1]; each file appears complete or not at all."""
    folder = Path(folder)
    paths = [atomic_write_bytes(folder / "mix.wav", encode_wav(np.asarray(mixture, np.float32), sample_rate))]
    for n, (ref, est) in enumerate(zip(truth, estimate)):
        paths.append(
            atomic_write_bytes(folder / f"src{n}-truth.wav", encode_wav(np.asarray(ref, np.float32), sample_rate))
        )
        paths.append(
            atomic_write_bytes(folder / f"src{n}-estimate.wav", encode_wav(np.asarray(est, np.float32), sample_rate))
        )
    return paths


def _db(waves: np.ndarray, n_bins: int) -> np.ndarray:
    """Warped log-frequency magnitudes in dB: (M, S) → (M, n_bins, T)."""
    mags = warped_magnitude(stft(torch.as_tensor(np.asarray(waves, np.float32))), n_bins)
    return (20.0 * torch.log10(mags.clamp(min=1e-8))).numpy()


def save_spectrograms(
    path: str | Path,
    mixture: np.ndarray,
    truth: np.ndarray,
    estimate: np.ndarray,
    titles: Sequence[str],
    n_bins: int,
    suptitle: str = "",
) -> Path:
    """A PNG with one row per source: mixture, truth, estimate (log-frequency magnitude in dB).

    mixture (S,), truth and estimate (N, S) at 11.025 kHz; ``titles``: one name per source."""
    truth, estimate = np.atleast_2d(truth), np.atleast_2d(estimate)
    if truth.shape != estimate.shape or len(titles) != truth.shape[0]:
        raise ValueError(f"{path}: truth {truth.shape}, estimate {estimate.shape} and {len(titles)} titles disagree")
    db = _db(np.concatenate([np.asarray(mixture)[None], truth, estimate]), n_bins)
    top = float(db.max())
    n = truth.shape[0]
    fig, axes = plt.subplots(n, 3, figsize=(3 * PANEL_INCHES, n * PANEL_INCHES * 0.8 + 0.5), squeeze=False)
    try:
        for row in range(n):
            panels = (
                (db[0], "mixture"),
                (db[1 + row], f"truth: {titles[row]}"),
                (db[1 + n + row], f"estimate: {titles[row]}"),
            )
            for ax, (image, title) in zip(axes[row], panels):
                ax.imshow(image, origin="lower", aspect="auto", cmap="magma", vmin=top - DB_RANGE, vmax=top)
                ax.set_title(title, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
        if suptitle:
            fig.suptitle(suptitle, fontsize=9)
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save_png(fig, path, DPI)
