"""Audio front ends: log-mel and linear-STFT magnitude, the same numbers from librosa and from batched torch.

- :class:`FrontEnd` describes one front end; :data:`PRESETS` holds the papers' (``dsol``, ``dmc``, ``vggish``,
  ``mssl``, ``sop``); :func:`frontend_from_params` reads ``params.features`` (a preset or ``custom``).
- librosa, one clip, numpy (the CPU reference): :func:`logmel_librosa` (N,) → (T, n_mels),
  :func:`stft_magnitude_librosa` (N,) → (F, T).
- torch, a batch on any device (on the CPU with numpy's SIMD loops for |X| and log): :func:`logmel_torch`
  (B, N) → (B, T, n_mels),
  :func:`stft_magnitude_torch` (B, N) → (B, F, T).
- :func:`resample` (..., N) between rates, torchaudio's sinc kernel built once per rate pair and reused.
- Sound of Pixels' warp: :func:`logfreq_warp` (F, T) → (n_bins, T) numpy, or (B, F, T) → (B, n_bins, T) torch.

Example::

    fe = frontend_from_params(load_params().features)   # DSOL by default
    logmel_librosa(wave, fe).shape                      # (201, 64) for 1 s at 16 kHz
    logmel_torch(torch.from_numpy(waves), fe).shape     # (B, 201, 64)
"""

from avsep.features.batched import check_waves, logmel_torch, resample, stft_magnitude_torch
from avsep.features.frontend import FrontEnd
from avsep.features.melbank import mel_filterbank_torch
from avsep.features.presets import DMC, DSOL, MSSL, PRESETS, SOP, VGGISH, frontend_from_params, preset
from avsep.features.reference import check_wave, logmel_librosa, mel_filterbank_librosa, stft_magnitude_librosa
from avsep.features.warp import logfreq_source_rows, logfreq_warp, logfreq_warp_numpy, logfreq_warp_torch

__all__ = [
    "DMC",
    "DSOL",
    "MSSL",
    "PRESETS",
    "SOP",
    "VGGISH",
    "FrontEnd",
    "check_wave",
    "check_waves",
    "frontend_from_params",
    "logfreq_source_rows",
    "logfreq_warp",
    "logfreq_warp_numpy",
    "logfreq_warp_torch",
    "logmel_librosa",
    "logmel_torch",
    "mel_filterbank_librosa",
    "mel_filterbank_torch",
    "preset",
    "resample",
    "stft_magnitude_librosa",
    "stft_magnitude_torch",
]
