"""How well frozen features separate classes: NMI of clusters, and linear-probe accuracy (scikit-learn).

NMI follows DSOL (k-means pseudo-labels against the true classes): scikit-learn's
``normalized_mutual_info_score`` with the arithmetic mean of the entropies as normaliser.

The linear probe has one fixed protocol so numbers are comparable across models: z-score the features with
the training split's statistics (optional), fit an L2 logistic regression (lbfgs, multinomial) with the given
``C`` and ``max_iter``, report accuracy on the test split. ESC-50 style evaluation averages the accuracy over
leave-one-fold-out splits (:func:`linear_probe_folds`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

# The probe's defaults; params.yaml ``evaluate.probe`` repeats them (checked by a test).
PROBE_C = 1.0
PROBE_MAX_ITER = 1000
NMI_AVERAGE = "arithmetic"


def _as_labels(labels, name: str) -> np.ndarray:
    values = np.asarray(labels)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of labels, got shape {values.shape}")
    return values


def _as_features(features, name: str) -> np.ndarray:
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"{name}: expected features of shape (N, D), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return values


def nmi(cluster_ids, class_ids) -> float:
    """NMI in [0, 1] of cluster assignments ``(N,)`` against true classes ``(N,)`` (arithmetic normaliser).

    Invariant to renaming clusters; 1 for a clustering equal to the classes up to names.
    """
    clusters = _as_labels(cluster_ids, "cluster_ids")
    classes = _as_labels(class_ids, "class_ids")
    if clusters.shape != classes.shape:
        raise ValueError(f"cluster_ids/class_ids: {clusters.size} clusters but {classes.size} classes")
    return float(normalized_mutual_info_score(classes, clusters, average_method=NMI_AVERAGE))


def evaluate_nmi(cluster_ids, class_ids) -> dict:
    """``{"protocol": "nmi:arithmetic", "nmi", "n", "n_clusters", "n_classes"}``."""
    value = nmi(cluster_ids, class_ids)
    return {
        "protocol": f"nmi:{NMI_AVERAGE}",
        "nmi": value,
        "n": int(np.asarray(class_ids).size),
        "n_clusters": int(np.unique(np.asarray(cluster_ids)).size),
        "n_classes": int(np.unique(np.asarray(class_ids)).size),
    }


def probe_protocol(C: float = PROBE_C, max_iter: int = PROBE_MAX_ITER, standardize: bool = True) -> str:
    """The probe's name as reported beside its numbers, e.g. ``linear-probe:logreg-l2(C=1,max_iter=1000,zscore)``."""
    scaling = "zscore" if standardize else "raw"
    return f"linear-probe:logreg-l2(C={C:g},max_iter={max_iter},{scaling})"


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    *,
    C: float = PROBE_C,
    max_iter: int = PROBE_MAX_ITER,
    standardize: bool = True,
) -> dict:
    """Fit a logistic-regression probe on frozen features and score it.

    ``train_features (N, D)``, ``train_labels (N,)``, ``test_features (M, D)``, ``test_labels (M,)``.
    Returns ``{"protocol", "accuracy", "n_train", "n_test", "converged"}``. lbfgs is deterministic, so the
    same inputs give the same number.
    """
    x_train = _as_features(train_features, "train_features")
    x_test = _as_features(test_features, "test_features")
    y_train = _as_labels(train_labels, "train_labels")
    y_test = _as_labels(test_labels, "test_labels")
    if x_train.shape[0] != y_train.size:
        raise ValueError(f"train_features/train_labels: {x_train.shape[0]} rows but {y_train.size} labels")
    if x_test.shape[0] != y_test.size:
        raise ValueError(f"test_features/test_labels: {x_test.shape[0]} rows but {y_test.size} labels")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"test_features: dimension {x_test.shape[1]} differs from training's {x_train.shape[1]}")
    if np.unique(y_train).size < 2:
        raise ValueError("train_labels: a probe needs at least two classes")
    if standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    probe = LogisticRegression(C=C, max_iter=max_iter, solver="lbfgs")
    with warnings.catch_warnings():
        # Reported in the result instead: a warning would be lost in a long evaluation log.
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(x_train, y_train)
    return {
        "protocol": probe_protocol(C, max_iter, standardize),
        "accuracy": float(np.mean(probe.predict(x_test) == y_test)),
        "n_train": int(y_train.size),
        "n_test": int(y_test.size),
        "converged": bool(np.all(probe.n_iter_ < max_iter)),
    }


def linear_probe_folds(
    features,
    labels,
    folds: Sequence | np.ndarray,
    *,
    C: float = PROBE_C,
    max_iter: int = PROBE_MAX_ITER,
    standardize: bool = True,
    progress: bool = False,
) -> dict:
    """Leave-one-fold-out probe (ESC-50: 5 folds): mean accuracy over folds.

    ``features (N, D)``, ``labels (N,)``, ``folds (N,)`` the fold of each sample. Returns
    ``{"protocol", "accuracy", "fold_accuracies": {fold: acc}, "n", "converged"}``.
    """
    x = _as_features(features, "features")
    y = _as_labels(labels, "labels")
    fold_ids = _as_labels(folds, "folds")
    if not x.shape[0] == y.size == fold_ids.size:
        raise ValueError(f"features/labels/folds: {x.shape[0]}, {y.size}, {fold_ids.size} rows")
    unique = np.unique(fold_ids)
    if unique.size < 2:
        raise ValueError("folds: leave-one-fold-out needs at least two folds")
    per_fold, converged = {}, True
    for fold in tqdm(unique, desc="probe folds", disable=not progress):
        test = fold_ids == fold
        result = linear_probe(x[~test], y[~test], x[test], y[test], C=C, max_iter=max_iter, standardize=standardize)
        per_fold[str(fold)] = result["accuracy"]
        converged &= result["converged"]
    return {
        "protocol": probe_protocol(C, max_iter, standardize) + f":leave-one-fold-out({unique.size})",
        "accuracy": float(np.mean(list(per_fold.values()))),
        "fold_accuracies": per_fold,
        "n": int(y.size),
        "converged": converged,
    }
