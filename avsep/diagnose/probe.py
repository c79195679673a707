"""Do the embeddings name the instrument? A linear probe of pooled embeddings against chance.

A model whose maps are poor but whose embeddings separate the classes learned something and needs a better
read-out (or more training); embeddings at chance after training point at a bug upstream of the map.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from avsep.diagnose.record import CheckResult

MEANING = "accuracy of a logistic regression on the held-out clips; chance + margin is the threshold"


def chance_of(train_labels: Sequence[str], test_labels: Sequence[str]) -> dict[str, float]:
    """``{"uniform": 1/K over the training classes, "majority": the held-out share of its commonest class,
    "chance": the larger}``."""
    k = len(set(train_labels))
    majority = max(Counter(test_labels).values()) / len(test_labels)
    return {"uniform": 1.0 / k, "majority": majority, "chance": max(1.0 / k, majority)}


def probe(
    name: str,
    train_x: np.ndarray,
    train_y: Sequence[str],
    test_x: np.ndarray,
    test_y: Sequence[str],
    *,
    margin: float,
    max_iter: int,
) -> CheckResult:
    """Fit a standardised logistic regression on ``train_x (N, D)`` with labels ``train_y`` and score it on
    ``test_x (M, D)``; passes when the accuracy exceeds :func:`chance_of` by more than ``margin``.

    name: the check's name (``probe-visual``, ``probe-audio``)."""
    if len(train_y) != len(train_x) or len(test_y) != len(test_x):
        raise ValueError(f"{name}: {len(train_x)}/{len(test_x)} embeddings for {len(train_y)}/{len(test_y)} labels")
    if len(set(train_y)) < 2:
        raise ValueError(f"{name}: the training clips hold {len(set(train_y))} class(es); a probe needs 2 or more")
    if not len(test_y):
        raise ValueError(f"{name}: no held-out clip to score")
    scaler = StandardScaler().fit(train_x)
    classifier = LogisticRegression(max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(scaler.transform(train_x), np.asarray(train_y))
    predicted = classifier.predict(scaler.transform(test_x))
    accuracy = float(np.mean(predicted == np.asarray(test_y)))
    chance = chance_of(train_y, test_y)
    threshold = chance["chance"] + margin
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return CheckResult(
        name,
        accuracy,
        threshold,
        accuracy > threshold,
        MEANING,
        {
            **chance,
            "classes": len(set(train_y)),
            "n_train": len(train_y),
            "n_test": len(test_y),
            "dim": int(train_x.shape[1]),
            "converged": converged,
        },
    )
