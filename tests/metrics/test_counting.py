"""Counting accuracy and mean absolute error, exact and with the curricula's "four or more" cap."""

import pytest

from avsep.metrics.counting import counting_accuracy, counting_mae, evaluate_counting

PRED, TRUE = [1, 2, 3, 5], [1, 3, 3, 4]


def test_exact_counts_by_hand():
    # Equal at positions 0 and 2 -> 2/4. |errors| = 0, 1, 0, 1 -> MAE 2/4.
    assert counting_accuracy(PRED, TRUE) == pytest.approx(0.5)
    assert counting_mae(PRED, TRUE) == pytest.approx(0.5)


def test_capped_counts_by_hand():
    # Cap 4: the prediction 5 becomes 4 = "4+", equal to the true 4 -> 3/4 right; |errors| 0, 1, 0, 0 -> 1/4.
    assert counting_accuracy(PRED, TRUE, cap=4) == pytest.approx(0.75)
    assert counting_mae(PRED, TRUE, cap=4) == pytest.approx(0.25)
    result = evaluate_counting(PRED, TRUE)
    assert result["protocol"] == "counting:cap4" and result["n"] == 4
    assert (result["accuracy"], result["mae"]) == (pytest.approx(0.75), pytest.approx(0.25))
    # Per true count: 1 -> [1] right; 3 -> [2, 3] half right; 4+ -> [5 -> 4] right.
    assert result["accuracy_by_count"] == {"1": 1.0, "3": 0.5, "4+": 1.0}
    assert evaluate_counting(PRED, TRUE, cap=None)["protocol"] == "counting:exact"


@pytest.mark.parametrize(
    "pred, true, message",
    [
        ([1, -1], [1, 1], "pred: counts must be non-negative integers"),
        ([1.5, 1], [1, 1], "pred: counts must be non-negative integers"),
        ([1, 2, 3], [1, 2], "pred/true: 3 predictions but 2 true counts"),
        ([], [], "pred: expected a non-empty 1-D array"),
    ],
)
def test_bad_counts_are_named(pred, true, message):
    with pytest.raises(ValueError, match=message):
        counting_accuracy(pred, true)
