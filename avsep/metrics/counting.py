"""Counting sound sources: accuracy and mean absolute error of predicted counts.

Counts are non-negative integers (0 = nothing sounding). With ``cap`` set, counts at or above it are one
class before comparison, as the curricula do (C4 = "four or more"): predicting 6 for a 4+ clip is right.
"""

from __future__ import annotations

import numpy as np

# The curricula's last class: "four or more" sources (params.yaml evaluate.counting.cap repeats it).
COUNT_CAP = 4


def _as_counts(counts, name: str) -> np.ndarray:
    values = np.asarray(counts)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of counts, got shape {values.shape}")
    as_float = values.astype(np.float64)
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)) or as_float.min() < 0:
        raise ValueError(f"{name}: counts must be non-negative integers (round a regressor's output first)")
    return as_float.astype(np.int64)


def _pair(pred, true, cap: int | None) -> tuple[np.ndarray, np.ndarray]:
    predicted, target = _as_counts(pred, "pred"), _as_counts(true, "true")
    if predicted.shape != target.shape:
        raise ValueError(f"pred/true: {predicted.size} predictions but {target.size} true counts")
    if cap is not None:
        if cap < 1:
            raise ValueError(f"cap: expected a positive count or None, got {cap!r}")
        predicted, target = np.minimum(predicted, cap), np.minimum(target, cap)
    return predicted, target


def counting_accuracy(pred, true, cap: int | None = None) -> float:
    """Fraction of clips ``(N,)`` whose predicted count equals the true count (after capping)."""
    predicted, target = _pair(pred, true, cap)
    return float(np.mean(predicted == target))


def counting_mae(pred, true, cap: int | None = None) -> float:
    """Mean absolute error ``mean |pred − true|`` over clips ``(N,)`` (after capping)."""
    predicted, target = _pair(pred, true, cap)
    return float(np.mean(np.abs(predicted - target)))


def evaluate_counting(pred, true, cap: int | None = COUNT_CAP) -> dict:
    """``{"protocol", "accuracy", "mae", "n", "accuracy_by_count"}``; ``accuracy_by_count`` is keyed by the
    true count (``"4+"`` for the capped class) and gives the per-count recall."""
    predicted, target = _pair(pred, true, cap)
    by_count = {}
    for count in np.unique(target):
        key = f"{count}+" if cap is not None and count == cap else str(count)
        by_count[key] = float(np.mean(predicted[target == count] == count))
    return {
        "protocol": f"counting:cap{cap}" if cap is not None else "counting:exact",
        "accuracy": float(np.mean(predicted == target)),
        "mae": float(np.mean(np.abs(predicted - target))),
        "n": int(target.size),
        "accuracy_by_count": by_count,
    }
