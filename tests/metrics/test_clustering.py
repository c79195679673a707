"""NMI and linear probes of frozen features, with hand-computed and separable cases."""

import math

import numpy as np
import pytest

from avsep.metrics.clustering import evaluate_nmi, linear_probe, linear_probe_folds, nmi


def test_nmi_by_hand():
    # classes (0,0,1,1), clusters (0,0,0,1). Natural logs.
    # H(classes) = ln 2. H(clusters) = -(3/4 ln 3/4 + 1/4 ln 1/4).
    # MI = 2/4 ln((2/4)/(2/4*3/4)) + 1/4 ln((1/4)/(2/4*3/4)) + 1/4 ln((1/4)/(2/4*1/4))
    #    = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2.
    # NMI (arithmetic) = MI / ((H(classes) + H(clusters)) / 2) = 0.343712...
    h_classes = math.log(2)
    h_clusters = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    mi = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * math.log(2)
    expected = mi / ((h_classes + h_clusters) / 2)
    assert expected == pytest.approx(0.343712, abs=1e-6)
    assert nmi([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(expected, abs=1e-6)


def test_nmi_ignores_cluster_names_and_is_zero_for_one_cluster():
    assert nmi([1, 1, 0, 0], ["cello", "cello", "flute", "flute"]) == pytest.approx(1.0)
    assert nmi([0, 0, 0, 0], [0, 0, 1, 1]) == pytest.approx(0.0)
    result = evaluate_nmi([2, 2, 7, 7, 7], [0, 0, 1, 1, 1])
    assert result == {"protocol": "nmi:arithmetic", "nmi": pytest.approx(1.0), "n": 5, "n_clusters": 2, "n_classes": 2}
    with pytest.raises(ValueError, match="cluster_ids/class_ids: 3 clusters but 4 classes"):
        nmi([0, 1, 0], [0, 1, 0, 1])


def test_linear_probe_reads_the_features():
    train_x, train_y = [[-2.0], [-1.0], [1.0], [2.0]], [0, 0, 1, 1]
    right = linear_probe(train_x, train_y, [[-3.0], [3.0]], [0, 1])
    wrong = linear_probe(train_x, train_y, [[-3.0], [3.0]], [1, 0])
    assert right["accuracy"] == 1.0 and wrong["accuracy"] == 0.0
    assert right["protocol"] == "linear-probe:logreg-l2(C=1,max_iter=1000,zscore)"
    assert (right["n_train"], right["n_test"], right["converged"]) == (4, 2, True)


def test_linear_probe_is_deterministic_and_reports_non_convergence():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 8))
    y = (x[:, 0] + 0.5 * rng.standard_normal(60) > 0).astype(int)
    first = linear_probe(x[:40], y[:40], x[40:], y[40:])
    assert first == linear_probe(x[:40], y[:40], x[40:], y[40:])
    assert 0.6 < first["accuracy"] <= 1.0  # one informative dimension out of eight
    assert linear_probe(x[:40], y[:40], x[40:], y[40:], max_iter=1)["converged"] is False


def test_leave_one_fold_out_probe():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 12)
    features = np.eye(3)[labels] * 5 + 0.1 * rng.standard_normal((36, 3))
    folds = np.tile([1, 2, 3], 12)
    result = linear_probe_folds(features, labels, folds)
    assert result["accuracy"] == 1.0 and set(result["fold_accuracies"]) == {"1", "2", "3"}
    assert result["protocol"].endswith(":leave-one-fold-out(3)") and result["n"] == 36
    # Shuffled labels carry no information: accuracy falls to about chance (1/3).
    shuffled = linear_probe_folds(features, rng.permutation(labels), folds)
    assert shuffled["accuracy"] < 0.7


def test_probe_refuses_bad_input():
    with pytest.raises(ValueError, match="train_labels: a probe needs at least two classes"):
        linear_probe([[0.0], [1.0]], [0, 0], [[0.0]], [0])
    with pytest.raises(ValueError, match="train_features/train_labels: 2 rows but 3 labels"):
        linear_probe([[0.0], [1.0]], [0, 1, 1], [[0.0]], [0])
    with pytest.raises(ValueError, match="test_features: dimension 2 differs from training's 1"):
        linear_probe([[0.0], [1.0]], [0, 1], [[0.0, 1.0]], [0])
    with pytest.raises(ValueError, match="train_features: contains NaN"):
        linear_probe([[np.nan], [1.0]], [0, 1], [[0.0]], [0])
    with pytest.raises(ValueError, match="folds: leave-one-fold-out needs at least two folds"):
        linear_probe_folds([[0.0], [1.0]], [0, 1], [1, 1])
