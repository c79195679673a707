"""Separation baselines that need no training: lower and upper bounds and the classic NMF-MFCC.

- mixture as every estimate: the lower bound, scored inside :class:`avsep.metrics.separation.SeparationMeter`;
- ideal binary mask (each linear STFT bin goes to the loudest source) and ideal ratio mask
  (``|S_n| / Σ_m |S_m|``): upper bounds of masking the mixture with its own phase, from the true sources;
- NMF-MFCC (Spiertz & Gnann 2009, the "NMF-MFCC" row of the papers' tables): NMF of the mixture magnitude
  (scikit-learn, KL divergence), the bases clustered into N groups by the MFCCs of their spectra (k-means),
  each group's part of the model as a soft mask. The method is blind, so its groups are matched to the
  references by the assignment with the largest summed magnitude correlation (an oracle permutation, as any
  evaluation of a blind method needs).

All functions take and return numpy waves at 11.025 kHz: mixture (S,), sources/estimates (N, S).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from avsep.features import SOP
from avsep.models.separation.reconstruct import linear_masked_waves
from avsep.models.separation.spectral import stft

_TINY = 1e-10  # guards divisions by silent bins


def _spec(waves: np.ndarray) -> torch.Tensor:
    return stft(torch.as_tensor(np.atleast_2d(np.asarray(waves, np.float32))))


def ideal_mask_estimates(mixture: np.ndarray, sources: np.ndarray, kind: str) -> np.ndarray:
    """``kind`` ``"ibm"`` or ``"irm"``: the mixture masked by the ideal mask computed from ``sources`` (N, S)."""
    mags = _spec(sources).abs()  # (N, F, T)
    if kind == "ibm":
        masks = torch.nn.functional.one_hot(mags.argmax(0), mags.shape[0]).permute(2, 0, 1).to(mags.dtype)
    elif kind == "irm":
        masks = mags / mags.sum(0, keepdim=True).clamp(min=_TINY)
    else:
        raise ValueError(f"ideal mask kind {kind!r}: expected 'ibm' or 'irm'")
    waves = linear_masked_waves(_spec(mixture), masks[None], sources.shape[-1])
    return waves[0].numpy()


def _mfcc_of_bases(bases: np.ndarray, n_mels: int, n_mfcc: int) -> np.ndarray:
    """MFCCs of each basis spectrum: bases (K, F) magnitudes → (K, n_mfcc)."""
    import librosa
    from scipy.fft import dct

    mel = librosa.filters.mel(sr=SOP.sample_rate, n_fft=SOP.n_fft, n_mels=n_mels)  # (n_mels, F)
    log_mel = np.log(bases**2 @ mel.T + _TINY)
    return dct(log_mel, type=2, norm="ortho", axis=1)[:, :n_mfcc]


def _match(estimates: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Order ``estimates`` (N, S) so that estimate n goes with source n: max summed magnitude correlation."""
    from scipy.optimize import linear_sum_assignment

    est = _spec(estimates).abs().flatten(1).numpy()
    ref = _spec(sources).abs().flatten(1).numpy()
    est = (est - est.mean(1, keepdims=True)) / (est.std(1, keepdims=True) + _TINY)
    ref = (ref - ref.mean(1, keepdims=True)) / (ref.std(1, keepdims=True) + _TINY)
    _, columns = linear_sum_assignment(-(ref @ est.T))
    return estimates[columns]


def nmf_mfcc_estimates(
    mixture: np.ndarray,
    sources: np.ndarray,
    *,
    n_components: int,
    n_mfcc: int,
    n_mels: int,
    iterations: int,
    loss: str,
    seed: int,
) -> np.ndarray:
    """NMF-MFCC estimates (N, S) of a mixture (S,); ``sources`` (N, S) only order the blind groups."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    n_src = sources.shape[0]
    spec = _spec(mixture)  # (1, F, T)
    mag = spec.abs()[0].numpy()  # float32: the multiplicative updates run twice as fast as in float64
    nmf = NMF(
        n_components=n_components, init="nndsvda", solver="mu", beta_loss=loss, max_iter=iterations, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed iteration budget is the setting, not a fault
        activations = nmf.fit_transform(mag.T + _TINY).T  # (K, T); sklearn factors (T, F) ≈ (T, K) @ (K, F)
    bases = nmf.components_  # (K, F)
    features = _mfcc_of_bases(bases, n_mels, n_mfcc)
    features = (features - features.mean(0)) / (features.std(0) + _TINY)
    groups = KMeans(n_clusters=n_src, n_init=10, random_state=seed).fit_predict(features)
    parts = np.stack([bases[groups == g].T @ activations[groups == g] for g in range(n_src)])  # (N, F, T)
    masks = torch.as_tensor(parts / np.maximum(parts.sum(0, keepdims=True), _TINY), dtype=torch.float32)
    estimates = linear_masked_waves(spec, masks[None], mixture.shape[-1])[0].numpy()
    return _match(estimates, sources)
