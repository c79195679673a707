"""SDR/SIR/SAR against mir_eval on synthetic sources whose answers are known, and the fast_bss_eval check."""

import numpy as np
import pytest

from avsep.metrics.separation import (
    SeparationMeter,
    bss_eval,
    evaluate_separation,
    is_near_silent,
    mixture_as_estimates,
)

RATE, LENGTH = 8000, 4000  # half a second: longer than mir_eval's 512-tap distortion filters


def _tone(f0, rng, noise=0.01):
    """A harmonic tone (instrument-like) plus a little noise, at RMS 0.1: ``(T,)``."""
    t = np.arange(LENGTH) / RATE
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8) if f0 * k < RATE / 2)
    x = x + noise * rng.standard_normal(LENGTH)
    return 0.1 * x / np.sqrt(np.mean(x**2))


@pytest.fixture(scope="module")
def sources():
    rng = np.random.default_rng(0)
    return np.stack([_tone(200, rng), _tone(310, rng)])


def test_perfect_estimate_scores_very_high(sources):
    sdr, sir, sar = bss_eval(sources, sources)
    assert np.all(sdr > 100) and np.all(sir > 100) and np.all(sar > 100)


def test_interference_sets_sdr_and_sir(sources):
    # Estimate of source 0 = s0 + g * s1 with equal-power, unrelated sources: SDR = SIR ~ -20 log10(g) dB.
    for gain, expected_db in ((1.0, 0.0), (0.1, 20.0)):
        estimates = np.stack([sources[0] + gain * sources[1], sources[1] + gain * sources[0]])
        sdr, sir, _ = bss_eval(sources, estimates)
        np.testing.assert_allclose(sdr, expected_db, atol=1.0)
        np.testing.assert_allclose(sir, expected_db, atol=1.0)
    # Swapped estimates are scored against the wrong source (no permutation search): far below 0 dB.
    assert np.all(bss_eval(sources, sources[::-1] + 0.1 * sources)[0] < -10)


def test_mixture_baseline_is_about_zero_db_and_below_a_good_estimate(sources):
    mixture = sources.sum(axis=0)
    assert mixture_as_estimates(mixture, 2).shape == (2, LENGTH)
    noisy = sources + 0.01 * np.random.default_rng(1).standard_normal(sources.shape)
    result = evaluate_separation([sources], [noisy], [mixture])
    assert abs(result["mixture"]["sdr"]) < 1.0
    assert result["sdr"] > 15 and result["sdr"] > result["mixture"]["sdr"] + 10
    assert result["protocol"] == "bss_eval_sources:mir_eval:no-permutation"
    assert (result["n"], result["n_skipped"]) == (1, 0)


def test_mean_over_sources_then_over_samples(sources):
    rng = np.random.default_rng(2)
    two = (sources, sources + np.array([[0.01], [0.1]]) * rng.standard_normal(sources.shape))
    one = (sources[:1], sources[:1] + 0.3 * rng.standard_normal((1, LENGTH)))
    two_sdr = bss_eval(*two)[0]
    meter = SeparationMeter()
    two_scores, one_scores = meter.update(*two), meter.update(*one)
    assert two_scores is not None and one_scores is not None
    assert two_scores["sdr"] == pytest.approx(two_sdr.mean(), abs=1e-9)
    one_sdr = one_scores["sdr"]
    expected = (two_sdr.mean() + one_sdr) / 2
    assert meter.result()["sdr"] == pytest.approx(expected, abs=1e-9)
    # A flat mean over the three sources would weigh the two-source sample more: it differs here.
    assert abs((two_sdr.sum() + one_sdr) / 3 - expected) > 0.1


def test_near_silent_samples_are_skipped_and_counted(sources):
    assert is_near_silent(np.zeros(10)) and not is_near_silent(np.full(10, 1e-3))
    silent_ref = np.stack([sources[0], np.zeros(LENGTH)])
    meter = SeparationMeter()
    assert meter.update(silent_ref, sources) is None  # an all-zero reference would make mir_eval raise
    assert meter.update(sources, np.stack([sources[0], 1e-12 * sources[1]])) is None
    assert meter.update(sources, sources + 0.01) is not None
    result = meter.result()
    assert (result["n"], result["n_skipped"]) == (1, 2)
    # The threshold is a parameter: sum(|x|) of these quiet sources is about 0.08 * 4000 = 320.
    strict = SeparationMeter(silence_threshold=1e3)
    assert strict.update(sources, sources) is None
    with pytest.raises(ValueError, match="no sample scored \\(1 skipped as near-silent\\)"):
        strict.result()


def test_bad_input_is_named(sources):
    with pytest.raises(ValueError, match=r"estimates: shape \(1, 4000\) differs"):
        bss_eval(sources, sources[:1])
    with pytest.raises(ValueError, match="references: contains NaN"):
        bss_eval(np.full((2, 600), np.nan), sources[:, :600])
    with pytest.raises(ValueError, match="backend 'museval'"):
        SeparationMeter(backend="museval")
    with pytest.raises(ValueError, match="mixture: length 100 differs"):
        SeparationMeter().update(sources, sources, sources[0, :100])


def _fixtures():
    """Realistic (estimate, reference) pairs: tonal and noise sources, noise, cross-talk, filtering, 3 sources."""
    rng = np.random.default_rng(3)
    tones = np.stack([_tone(200, rng), _tone(310, rng), _tone(455, rng)])
    noise = 0.1 * rng.standard_normal((2, LENGTH))
    smear = np.array([0.6, 0.3, 0.1])  # a short low-pass, as a mask's spectral smearing does
    yield tones[:2], 0.8 * tones[:2] + 0.2 * tones[1::-1] + 0.03 * rng.standard_normal((2, LENGTH))
    yield noise, np.stack([np.convolve(n, smear, "same") for n in noise]) + 0.02 * rng.standard_normal((2, LENGTH))
    yield tones, tones + 0.3 * tones[[1, 2, 0]] + 0.05 * rng.standard_normal((3, LENGTH))


@pytest.mark.slow
def test_fast_bss_eval_equals_mir_eval_within_a_hundredth_of_a_db():
    for references, estimates in _fixtures():
        reference = np.array(bss_eval(references, estimates, "mir_eval"))
        fast = np.array(bss_eval(references, estimates, "fast_bss_eval"))
        np.testing.assert_allclose(fast, reference, atol=0.01)


def test_fast_bss_eval_differs_only_where_sar_is_numerically_infinite(sources):
    # The mixture lies exactly in the span of the filtered references: SAR is +inf in theory, and the two
    # libraries return different huge (or inf) numbers; so SeparationMeter scores mixtures with mir_eval.
    estimates = mixture_as_estimates(sources.sum(axis=0), 2)
    reference = bss_eval(sources, estimates, "mir_eval")
    fast = bss_eval(sources, estimates, "fast_bss_eval")
    np.testing.assert_allclose(fast[0], reference[0], atol=0.01)
    np.testing.assert_allclose(fast[1], reference[1], atol=0.01)
    assert np.all(reference[2] > 100) and np.all(fast[2] > 100)
    meter = SeparationMeter(backend="fast_bss_eval")
    meter.update(sources, sources + 0.01, sources.sum(axis=0))
    assert meter.result()["mixture"]["sar"] == pytest.approx(float(np.mean(reference[2])))
