"""Fixtures of the feature tests; the signals themselves live in feature_signals.py."""

import pytest

from feature_signals import make_signal


@pytest.fixture
def signal():
    """``signal(kind, sample_rate, n_samples, seed=0)`` → (n_samples,) float64 test signal."""
    return make_signal
