"""cIoU, IoU, AUC, class-aware CIoU and NSA against answers worked out by hand (REFERENCE.md definitions)."""

import numpy as np
import pytest
from sklearn.metrics import auc as sklearn_auc

from avsep.metrics.localization import (
    auc,
    auc_thresholds,
    ciou,
    ciou_at,
    class_aware_ciou,
    class_cious,
    gt_map,
    iou,
    iou_at,
    non_sounding_classes,
    nsa,
)

# The consensus map of annotators A = [0,0,2,2] and B = [1,1,3,3] on 4x4 (see test_localization_maps):
# (1,1) = 1; (0,0), (0,1), (1,0), (1,2), (2,1), (2,2) = 0.5; sum G = 1 + 6 * 0.5 = 4.
CONSENSUS = gt_map([[0, 0, 2, 2], [1, 1, 3, 3]], 4)


def _mask(*pixels, size=4):
    mask = np.zeros((size, size), dtype=bool)
    for row, col in pixels:
        mask[row, col] = True
    return mask


def test_ciou_on_a_soft_consensus_map():
    # P = the top-left 2x2: sum(P*G) = 0.5 + 0.5 + 0.5 + 1 = 2.5; no P pixel has G = 0 -> 2.5 / (4 + 0) = 0.625.
    assert ciou(_mask((0, 0), (0, 1), (1, 0), (1, 1)), CONSENSUS) == pytest.approx(0.625, abs=1e-6)
    # P = row 0: sum(P*G) = 0.5 + 0.5 = 1; (0,2), (0,3) have G = 0 -> 1 / (4 + 2) = 1/6.
    assert ciou(_mask((0, 0), (0, 1), (0, 2), (0, 3)), CONSENSUS) == pytest.approx(1 / 6, abs=1e-6)
    # P = everything: sum(P*G) = 4; 16 - 7 = 9 pixels have G = 0 -> 4 / 13.
    assert ciou(np.ones((4, 4)), CONSENSUS) == pytest.approx(4 / 13, abs=1e-6)
    # Empty P -> 0 / 4 = 0.
    assert ciou(np.zeros((4, 4), dtype=bool), CONSENSUS) == 0.0


def test_ciou_equals_iou_on_binary_ground_truth():
    # P = 2x2 at rows/cols 0..1, G = 2x2 at rows/cols 1..2: intersection 1 pixel (1,1), union 4 + 4 - 1 = 7.
    pred = _mask((0, 0), (0, 1), (1, 0), (1, 1))
    ground = _mask((1, 1), (1, 2), (2, 1), (2, 2))
    assert ciou(pred, ground.astype(float)) == pytest.approx(1 / 7, abs=1e-6)
    assert iou(pred, ground) == pytest.approx(1 / 7, abs=1e-6)


@pytest.mark.parametrize(
    "pred, gt, message",
    [
        (np.ones((4, 4)), np.zeros((4, 4)), "gt: empty ground truth"),
        (np.full((4, 4), 0.3), CONSENSUS, "pred_mask: expected a binary mask"),
        (np.ones((3, 3)), CONSENSUS, r"gt: shape \(4, 4\) differs"),
        (np.ones((4, 4)), CONSENSUS * 3, r"gt: values must lie in \[0, 1\]"),
    ],
)
def test_ciou_refuses_bad_input(pred, gt, message):
    with pytest.raises(ValueError, match=message):
        ciou(pred, gt)


def test_auc_by_hand():
    # cIoUs 0, 0.5, 1 on x = 0, 0.05, ..., 1: f(0) = 1; f(0.05..0.5) = 2/3; f(0.55..1) = 1/3.
    # Trapezoids: (1 + 2/3)/2 * 0.05 + 9 * (2/3) * 0.05 + (2/3 + 1/3)/2 * 0.05 + 9 * (1/3) * 0.05
    #           = 0.041666.. + 0.3 + 0.025 + 0.15 = 31/60.
    assert auc([0.0, 0.5, 1.0]) == pytest.approx(31 / 60, abs=1e-6)
    assert auc([1.0, 1.0]) == pytest.approx(1.0, abs=1e-6)
    # All zero: only f(0) = 1 -> one half trapezoid 1/2 * 0.05 = 0.025.
    assert auc([0.0, 0.0]) == pytest.approx(0.025, abs=1e-6)


def test_auc_matches_the_original_sklearn_computation():
    # The LVS code: sklearn.metrics.auc over x = 0.05 * i of the fraction of cIoU >= x.
    cious = np.random.default_rng(0).random(50)
    xs = [0.05 * i for i in range(21)]
    original = sklearn_auc(xs, [np.mean(cious >= x) for x in xs])
    assert auc(cious) == pytest.approx(original, abs=1e-6)
    assert auc_thresholds()[3] == 0.15 and len(auc_thresholds()) == 21


def test_ciou_at_and_iou_at():
    # >= is inclusive: 0.5 counts at t = 0.5.
    assert ciou_at([0.0, 0.5, 1.0], 0.5) == pytest.approx(2 / 3)
    assert ciou_at([0.0, 0.49, 1.0], 0.5) == pytest.approx(1 / 3)
    assert iou_at([0.2, 0.6, 0.7, 0.9]) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="cious: no samples"):
        ciou_at([], 0.5)
    with pytest.raises(ValueError, match=r"cious: scores must be finite and in \[0, 1\]"):
        auc([0.5, 1.5])


def _class_maps():
    # Class 0: 1.0 on the top-left 2x2, 0.4 at (3,3). Class 1: all zero. Class 2: all zero (silent).
    maps = np.zeros((3, 4, 4))
    maps[0, :2, :2] = 1.0
    maps[0, 3, 3] = 0.4
    return maps


def test_class_aware_ciou_by_hand():
    boxes = {0: [[0, 0, 2, 2]], 1: [[2, 2, 4, 4]]}
    # rel 0.5: class 0 keeps > 0.5 -> the 2x2 = its box -> 4 / 4 = 1. Class 1 is all zero -> empty P -> 0.
    # Mean over the two sounding classes: (1 + 0) / 2 = 0.5.
    assert class_cious(_class_maps(), boxes, 0.5) == {0: 1.0, 1: 0.0}
    assert class_aware_ciou(_class_maps(), boxes, 0.5) == pytest.approx(0.5, abs=1e-6)
    # rel 0.2: class 0 also keeps (3,3) (0.4 > 0.2): 4 / (4 + 1) = 0.8 -> mean (0.8 + 0) / 2 = 0.4.
    assert class_aware_ciou(_class_maps(), boxes, 0.2) == pytest.approx(0.4, abs=1e-6)


def test_class_aware_ciou_uses_the_union_of_a_class_boxes():
    # Boxes [0,0,2,2] and [0,0,1,4]: the 2x2 plus (2,0), (3,0) = 6 pixels; P = the 2x2 -> 4 / 6.
    score = class_aware_ciou(_class_maps(), {0: [[0, 0, 2, 2], [0, 0, 1, 4]]}, 0.5)
    assert score == pytest.approx(4 / 6, abs=1e-6)


def test_class_aware_ciou_refuses_bad_input():
    with pytest.raises(ValueError, match="class_boxes: no sounding class"):
        class_aware_ciou(_class_maps(), {}, 0.5)
    with pytest.raises(ValueError, match=r"class_boxes: class 5 is not an index in \[0, 3\)"):
        class_aware_ciou(_class_maps(), {5: [[0, 0, 1, 1]]}, 0.5)
    with pytest.raises(ValueError, match=r"class_boxes\[0\]: no box pixel"):
        class_aware_ciou(_class_maps(), {0: [[9, 9, 12, 12]]}, 0.5)


def test_nsa_by_hand():
    maps = np.zeros((3, 2, 2))
    maps[1] = [[0.1, 0.2], [0.3, 0.9]]
    # Class 1, tau 0.2: 0.1 and 0.2 are <= 0.2 -> 2/4. Class 2 is all zero -> 4/4. Mean = 0.75.
    assert nsa(maps, [1, 2]) == pytest.approx(0.75, abs=1e-6)
    assert nsa(maps, [1]) == pytest.approx(0.5, abs=1e-6)
    # tau 0.3 also counts 0.3 -> 3/4.
    assert nsa(maps, [1], tau=0.3) == pytest.approx(0.75, abs=1e-6)
    with pytest.raises(ValueError, match="silent_classes: empty"):
        nsa(maps, [])
    with pytest.raises(ValueError, match="silent_classes: class 3"):
        nsa(maps, [3])


def test_nsa_over_every_non_sounding_class_differs_from_the_visible_ones():
    # Four classes on 2x2 maps: class 0 sounds, class 1 is silent and in the frame, classes 2 and 3 are not
    # in the frame at all. DSOL's Eq. 9 sums over every class with delta_k = 0, i.e. 1, 2 and 3.
    maps = np.zeros((4, 2, 2))
    maps[0] = 0.9  # the sounding class is never counted, whatever its map
    maps[1] = [[0.9, 0.8], [0.1, 0.0]]  # visible silent class still lit on its top row: 2 of 4 pixels <= 0.2
    maps[3] = [[0.5, 0.0], [0.0, 0.0]]  # absent class, one pixel above tau: 3 of 4
    assert non_sounding_classes(4, [0]) == [1, 2, 3]
    # visible only: class 1 -> 2/4 = 0.5
    assert nsa(maps, [1]) == pytest.approx(0.5, abs=1e-12)
    # every non-sounding class: (2/4 + 4/4 + 3/4) / 3 = 2.25 / 3 = 0.75
    assert nsa(maps, non_sounding_classes(4, [0])) == pytest.approx(0.75, abs=1e-12)
    assert non_sounding_classes(4, [0, 1, 2, 3]) == []
    with pytest.raises(ValueError, match=r"sounding_classes: class 4 is not an index in \[0, 4\)"):
        non_sounding_classes(4, [4])
