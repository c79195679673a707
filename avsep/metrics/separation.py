"""Separation quality: SDR, SIR and SAR as Sound of Pixels measured them.

Reference implementation: ``mir_eval.separation.bss_eval_sources(references, estimates,
compute_permutation=False)`` (BSS Eval v3, 512-tap distortion filters). Per sample the metrics are averaged
over sources, then over samples. A sample is skipped (and counted) when any reference, any estimate, or the
mixture given for the baseline is near-silent: ``sum(|x|) <= silence_threshold`` (Sound of Pixels' rule,
1e-5 on float signals in [-1, 1]); mir_eval refuses all-zero signals and near-silent ones give meaningless dB.

``backend="fast_bss_eval"`` computes the same quantities faster. It is allowed because
``tests/metrics/test_separation.py`` shows it equal to mir_eval within 0.01 dB on realistic fixtures. It runs
on float64 torch tensors: fast_bss_eval 0.1.4's numpy backend fails under numpy 2 (``np.linalg.solve``
broadcasting). Where the two disagree is an estimate lying exactly in the span of the filtered references —
the mixture itself — whose SAR is numerically infinite (> 100 dB) in both but differs; so the mixture baseline
is always computed with mir_eval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

# Sound of Pixels: a signal is valid when sum(|x|) > 1e-5 (params.yaml evaluate.separation repeats it).
SILENCE_THRESHOLD = 1e-5
BACKENDS = ("mir_eval", "fast_bss_eval")


def _as_sources(signals, name: str) -> np.ndarray:
    values = np.asarray(signals, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"{name}: expected signals of shape (N, T), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: contains NaN or infinite samples")
    return values


def is_near_silent(signal, threshold: float = SILENCE_THRESHOLD) -> bool:
    """True when ``sum(|signal|) <= threshold`` for a signal ``(T,)``."""
    return float(np.sum(np.abs(np.asarray(signal, dtype=np.float64)))) <= threshold


def mixture_as_estimates(mixture, n_sources: int) -> np.ndarray:
    """The lower-bound baseline: the mixture ``(T,)`` repeated as the estimate of every source → ``(N, T)``."""
    mix = np.asarray(mixture, dtype=np.float64)
    if mix.ndim != 1 or mix.size == 0:
        raise ValueError(f"mixture: expected a non-empty 1-D signal, got shape {mix.shape}")
    if n_sources < 1:
        raise ValueError(f"n_sources: expected at least 1, got {n_sources}")
    return np.repeat(mix[None, :], n_sources, axis=0)


def bss_eval(references, estimates, backend: str = "mir_eval") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SDR, SIR, SAR in dB, each ``(N,)``, of estimates ``(N, T)`` against references ``(N, T)``.

    Source n of the estimates is scored against source n of the references (no permutation search).
    """
    refs = _as_sources(references, "references")
    ests = _as_sources(estimates, "estimates")
    if refs.shape != ests.shape:
        raise ValueError(f"estimates: shape {ests.shape} differs from the references' {refs.shape}")
    if backend == "mir_eval":
        return _mir_eval(refs, ests)
    if backend == "fast_bss_eval":
        import fast_bss_eval
        import torch

        try:
            sdr, sir, sar = fast_bss_eval.bss_eval_sources(
                torch.from_numpy(refs), torch.from_numpy(ests), compute_permutation=False
            )
        except RuntimeError:
            # torch.linalg.solve refuses the (near-)singular autocorrelation systems of very tonal sources,
            # where mir_eval's least squares still answers: the fast path is for speed only.
            return _mir_eval(refs, ests)
        return sdr.numpy(), sir.numpy(), sar.numpy()
    raise ValueError(f"backend {backend!r}: expected one of {BACKENDS}")


def _mir_eval(refs: np.ndarray, ests: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import mir_eval

    with warnings.catch_warnings():
        # mir_eval 0.8 marks bss_eval_sources deprecated (removal in 0.9); the lock pins 0.8.2.
        warnings.simplefilter("ignore", FutureWarning)
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=False)
    return np.asarray(sdr), np.asarray(sir), np.asarray(sar)


class SeparationMeter:
    """Accumulates per-sample SDR/SIR/SAR (means over sources) and the mixture baseline.

    ``meter.update(references (N, T), estimates (N, T), mixture (T,) or None)`` then ``meter.result()``.
    """

    def __init__(self, backend: str = "mir_eval", silence_threshold: float = SILENCE_THRESHOLD):
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: expected one of {BACKENDS}")
        if not silence_threshold >= 0:
            raise ValueError(f"silence_threshold: expected >= 0, got {silence_threshold!r}")
        self.backend = backend
        self.silence_threshold = silence_threshold
        self.scores: list[tuple[float, float, float]] = []
        self.mixture_scores: list[tuple[float, float, float]] = []
        self.n_skipped = 0

    def update(self, references, estimates, mixture=None) -> dict | None:
        """Score one sample; returns its ``{"sdr", "sir", "sar"}`` (means over sources), or None if skipped."""
        refs = _as_sources(references, "references")
        ests = _as_sources(estimates, "estimates")
        signals = [*refs, *ests] + ([np.asarray(mixture)] if mixture is not None else [])
        if any(is_near_silent(s, self.silence_threshold) for s in signals):
            self.n_skipped += 1
            return None
        sdr, sir, sar = bss_eval(refs, ests, self.backend)
        self.scores.append((float(np.mean(sdr)), float(np.mean(sir)), float(np.mean(sar))))
        if mixture is not None:
            mix = mixture_as_estimates(mixture, refs.shape[0])
            if mix.shape != refs.shape:
                raise ValueError(f"mixture: length {mix.shape[1]} differs from the references' {refs.shape[1]}")
            m_sdr, m_sir, m_sar = bss_eval(refs, mix, "mir_eval")
            self.mixture_scores.append((float(np.mean(m_sdr)), float(np.mean(m_sir)), float(np.mean(m_sar))))
        return dict(zip(("sdr", "sir", "sar"), self.scores[-1]))

    def merge(self, other: SeparationMeter) -> None:
        """Add the samples another meter (same backend and threshold) scored, after this one's."""
        if (other.backend, other.silence_threshold) != (self.backend, self.silence_threshold):
            raise ValueError(
                f"merge: a {other.backend} meter (threshold {other.silence_threshold}) into a "
                f"{self.backend} one (threshold {self.silence_threshold})"
            )
        self.scores += other.scores
        self.mixture_scores += other.mixture_scores
        self.n_skipped += other.n_skipped

    def result(self) -> dict:
        """``{"protocol", "sdr", "sir", "sar", "n", "n_skipped"}`` plus ``"mixture": {"sdr", "sir", "sar"}``
        when mixtures were given. Raises when no sample could be scored."""
        if not self.scores:
            raise ValueError(f"separation: no sample scored ({self.n_skipped} skipped as near-silent)")
        means = np.mean(np.array(self.scores), axis=0)
        result = {
            "protocol": f"bss_eval_sources:{self.backend}:no-permutation",
            "sdr": float(means[0]),
            "sir": float(means[1]),
            "sar": float(means[2]),
            "n": len(self.scores),
            "n_skipped": self.n_skipped,
        }
        if self.mixture_scores:
            mix = np.mean(np.array(self.mixture_scores), axis=0)
            result["mixture"] = {"sdr": float(mix[0]), "sir": float(mix[1]), "sar": float(mix[2])}
        return result


def evaluate_separation(
    references: Sequence,
    estimates: Sequence,
    mixtures: Sequence | None = None,
    *,
    backend: str = "mir_eval",
    silence_threshold: float = SILENCE_THRESHOLD,
    progress: bool = False,
) -> dict:
    """SDR/SIR/SAR over samples: ``references[i]`` and ``estimates[i]`` ``(N_i, T_i)``, ``mixtures[i]``
    ``(T_i,)`` (optional, for the mixture baseline). See :meth:`SeparationMeter.result` for the keys."""
    if len(references) != len(estimates):
        raise ValueError(f"references/estimates: {len(references)} samples but {len(estimates)} estimates")
    if mixtures is not None and len(mixtures) != len(references):
        raise ValueError(f"mixtures: {len(mixtures)} mixtures for {len(references)} samples")
    meter = SeparationMeter(backend, silence_threshold)
    for i in tqdm(range(len(references)), desc="bss_eval", disable=not progress):
        meter.update(references[i], estimates[i], None if mixtures is None else mixtures[i])
    return meter.result()
