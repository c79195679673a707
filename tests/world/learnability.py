"""Small feature extractors and a tiny world for the learnability tests (no avsep code beyond the world)."""

from __future__ import annotations

import numpy as np
import scipy.fft

from avsep.config.world import CountTables, SceneCounts, SplitCounts, WorldParams
from avsep.world.render import render_clip
from avsep.world.scene import clip_specs

N_FFT, HOP, N_MELS, N_CEPS = 1024, 256, 64, 20
LOUD_DB = 6.0  # frames within this many log units of the loudest frame carry the timbre


def solo_world(n_train: int, n_test: int, **overrides) -> WorldParams:
    """A solo-only world at 64x64 (no silent extras) with ``n_train``/``n_test`` clips per class."""
    counts = SplitCounts(train=SceneCounts(solo=11 * n_train), test=SceneCounts(solo=11 * n_test))
    return WorldParams(width=64, height=64, silent_prob=0.0, workers=1, counts=CountTables(demo=counts), **overrides)


def render_solo(world: WorldParams):
    """(clips, labels (n,) str, is_train (n,) bool) for every clip of ``world``."""
    specs = clip_specs(world)
    clips = [render_clip(spec, world) for spec in specs]
    return clips, np.array([s.classes[0] for s in specs]), np.array([s.split == "train" for s in specs])


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters evenly spaced on the HTK mel scale."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = hz(np.linspace(0, mel(sample_rate / 2), n_mels + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))


def logmel(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N_MELS, T) natural-log mel power of the mono mix of ``audio`` (2, N)."""
    frames = np.lib.stride_tricks.sliding_window_view(audio.mean(0), N_FFT)[::HOP] * np.hanning(N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return np.log(mel_filterbank(sample_rate, N_FFT, N_MELS) @ power.T + 1e-8)


def audio_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Timbre summary of a clip: mean/std of the loud frames' log-mel and of their cepstrum."""
    m = logmel(audio, sample_rate)
    energy = m.max(0)
    loud = m[:, energy > energy.max() - LOUD_DB]
    ceps = scipy.fft.dct(loud, axis=0, norm="ortho")[:N_CEPS]
    return np.concatenate([loud.mean(1), loud.std(1), ceps.mean(1), ceps.std(1)])
