"""Test signals made by the tests themselves: a chirp, noise, a quiet signal and silence."""

import numpy as np
import scipy.signal

SIGNALS = ("chirp", "noise", "quiet", "silent")


def make_signal(kind: str, sample_rate: int, n_samples: int, seed: int = 0) -> np.ndarray:
    """(n_samples,) float64 test signal at ``sample_rate``."""
    t = np.arange(n_samples) / sample_rate
    rng = np.random.default_rng(seed)
    if kind == "chirp":  # sweeps almost the whole band: spectrally sparse, the hardest case for float32
        return 0.5 * scipy.signal.chirp(t, 50.0, t[-1], 0.45 * sample_rate, method="logarithmic")
    if kind == "noise":
        return 0.1 * rng.standard_normal(n_samples)
    if kind == "quiet":  # -80 dBFS tone in -100 dBFS noise
        return 1e-4 * np.sin(2 * np.pi * 440.0 * t) + 1e-5 * rng.standard_normal(n_samples)
    if kind == "silent":
        return np.zeros(n_samples)
    raise ValueError(kind)
