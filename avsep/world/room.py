"""A room and its background: synthetic impulse responses (RT60, direct-to-reverberant ratio) and coloured
noise at a signal-to-noise ratio.

The impulse response is a direct impulse followed by exponentially decaying, low-passed noise (Polack's
statistical model of a diffuse late field): its energy falls by 60 dB in ``rt60_s`` and its tail holds
``10^(-drr_db / 10)`` of the direct sound's energy. :func:`rt60_of` measures it back by Schroeder backward
integration, which the tests use to check the drawn value.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

LN_1000 = np.log(1000.0)  # amplitude falls 1000-fold (60 dB) in one RT60
TAIL_RT60S = 1.2  # the response is cut 72 dB down: below the quietest 16-bit sample of a -20 dBFS source
AIR_CUTOFF_HZ = 6000.0  # walls and air absorb the highs: the tail is darker than the direct sound
PREDELAY_S = 0.004  # the first reflections arrive a few milliseconds after the direct sound


def impulse_response(rt60_s: float, drr_db: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response ``(L,)`` float32: direct impulse of 1 at sample 0, diffuse tail after it."""
    if rt60_s <= 0:
        raise ValueError(f"rt60_s {rt60_s}: must be positive")
    n = max(int(TAIL_RT60S * rt60_s * sample_rate), 2)
    t = np.arange(n) / sample_rate
    b, a = scipy.signal.butter(2, AIR_CUTOFF_HZ, fs=sample_rate)
    tail = scipy.signal.lfilter(b, a, rng.standard_normal(n)) * np.exp(-LN_1000 * t / rt60_s)
    tail[: int(PREDELAY_S * sample_rate) + 1] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(float(np.sum(tail**2)), 1e-30))
    tail[0] = 1.0
    return tail.astype(np.float32)


def rt60_of(response: np.ndarray, sample_rate: int) -> float:
    """The RT60 of an impulse response ``(L,)``: Schroeder's energy decay curve, line fitted from -5 to -25 dB
    (T20), extrapolated to 60 dB. The direct impulse is left out, as a measured late field would be."""
    energy = np.asarray(response, np.float64)[1:] ** 2
    decay = np.cumsum(energy[::-1])[::-1]
    decay_db = 10 * np.log10(decay / decay[0] + 1e-300)
    fit = (decay_db <= -5) & (decay_db >= -25)
    if fit.sum() < 2:
        raise ValueError("impulse response too short to measure a 20 dB decay")
    slope, _ = np.polyfit(np.flatnonzero(fit) / sample_rate, decay_db[fit], 1)
    return float(-60.0 / slope)


def reverberate(stem: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """``stem`` (C, N) through one impulse response per channel ``responses`` (C, L): (C, N) float32, the tail
    cut at N (the clip ends where it ends)."""
    n = stem.shape[-1]
    wet = scipy.signal.fftconvolve(stem, responses, axes=-1)[:, :n]
    return np.ascontiguousarray(wet, dtype=np.float32)


def coloured_noise(colour: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise ``shape`` (C, N) float32 with a white, pink (1/f power) or brown (1/f^2) spectrum."""
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}.get(colour)
    if exponent is None:
        raise ValueError(f"noise colour {colour!r}: expected white, pink or brown")
    white = rng.standard_normal(shape)
    if exponent:
        spectrum = np.fft.rfft(white, axis=-1)
        f = np.arange(spectrum.shape[-1], dtype=np.float64)
        f[0] = f[1] if len(f) > 1 else 1.0  # no infinite DC: the lowest bin takes the next one's gain
        white = np.fft.irfft(spectrum / f**exponent, n=shape[-1], axis=-1)
    white /= max(float(np.sqrt(np.mean(white**2))), 1e-30)
    return white.astype(np.float32)


def noise_at_snr(sources: np.ndarray, snr_db: float, noise: np.ndarray) -> np.ndarray:
    """``noise`` (C, N) scaled so that ``10 log10(power(sources) / power(noise)) == snr_db`` over the clip."""
    power = float(np.mean(np.asarray(sources, np.float64) ** 2))
    scale = np.sqrt(power / 10 ** (snr_db / 10) / max(float(np.mean(np.asarray(noise, np.float64) ** 2)), 1e-30))
    return (noise * scale).astype(np.float32)
