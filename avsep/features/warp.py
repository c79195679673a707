"""Sound of Pixels' log-frequency warp of a linear magnitude spectrogram.

Sound of Pixels resamples its 512 linear STFT rows onto 256 rows with ``F.grid_sample`` and a grid
whose normalised row coordinate is ``g(y) = (21 ** ((y + 1) / 2) − 11) / 10`` for ``y`` evenly spaced in
[−1, 1]: rows are dense at low frequencies, sparse at high ones. The original ran PyTorch 0.4, whose
``grid_sample`` behaves as ``align_corners=True`` today; columns (time) map onto themselves.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch
import torch.nn.functional as F

# g(y) = (BASE ** ((y + 1) / 2) - OFFSET) / OFFSET_SCALE maps [-1, 1] onto [-1, 1] (SoP ``warpgrid``).
_WARP_BASE, _WARP_OFFSET, _WARP_SCALE = 21.0, 11.0, 10.0


def logfreq_source_rows(n_bins: int, n_freqs: int) -> np.ndarray:
    """Fractional input row (0 … n_freqs − 1) read by each of the ``n_bins`` output rows: (n_bins,) float64."""
    if n_bins < 2 or n_freqs < 2:
        raise ValueError(f"logfreq warp: need n_bins >= 2 and n_freqs >= 2, got n_bins={n_bins}, n_freqs={n_freqs}")
    y = np.linspace(-1.0, 1.0, n_bins)
    g = (_WARP_BASE ** ((y + 1.0) / 2.0) - _WARP_OFFSET) / _WARP_SCALE
    return (g + 1.0) / 2.0 * (n_freqs - 1)  # align_corners=True: -1 → row 0, +1 → last row


def logfreq_warp_numpy(mag: np.ndarray, n_bins: int) -> np.ndarray:
    """Warp (F, T) linear-frequency magnitudes to (n_bins, T) log-frequency rows by linear interpolation."""
    if not isinstance(mag, np.ndarray) or mag.ndim != 2:
        raise ValueError(f"mag: expected a numpy array (F, T), got {getattr(mag, 'shape', type(mag).__name__)}")
    rows = logfreq_source_rows(n_bins, mag.shape[0])
    lower = np.minimum(np.floor(rows).astype(np.int64), mag.shape[0] - 1)
    upper = np.minimum(lower + 1, mag.shape[0] - 1)
    frac = (rows - lower)[:, None].astype(mag.dtype)
    return (1 - frac) * mag[lower] + frac * mag[upper]


def logfreq_warp_torch(mag: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Warp (B, F, T) linear-frequency magnitudes to (B, n_bins, T) by grid sampling, as Sound of Pixels."""
    if not isinstance(mag, torch.Tensor) or mag.dim() != 3:
        raise ValueError(f"mag: expected a torch.Tensor (B, F, T), got {getattr(mag, 'shape', type(mag).__name__)}")
    batch, n_freqs, n_frames = mag.shape
    rows = torch.as_tensor(logfreq_source_rows(n_bins, n_freqs), dtype=mag.dtype, device=mag.device)
    grid_y = rows / (n_freqs - 1) * 2 - 1  # back to grid_sample's [-1, 1] coordinates
    grid_x = torch.linspace(-1.0, 1.0, n_frames, dtype=mag.dtype, device=mag.device)
    grid = torch.stack(torch.broadcast_tensors(grid_x[None, :], grid_y[:, None]), dim=-1)  # (n_bins, T, 2)
    warped = F.grid_sample(
        mag.unsqueeze(1), grid.expand(batch, -1, -1, -1), mode="bilinear", padding_mode="zeros", align_corners=True
    )
    return warped.squeeze(1)


@overload
def logfreq_warp(mag: np.ndarray, n_bins: int) -> np.ndarray: ...
@overload
def logfreq_warp(mag: torch.Tensor, n_bins: int) -> torch.Tensor: ...
def logfreq_warp(mag: np.ndarray | torch.Tensor, n_bins: int) -> np.ndarray | torch.Tensor:
    """(F, T) numpy → (n_bins, T) numpy, or (B, F, T) tensor → (B, n_bins, T) tensor."""
    if isinstance(mag, torch.Tensor):
        return logfreq_warp_torch(mag, n_bins)
    return logfreq_warp_numpy(mag, n_bins)
