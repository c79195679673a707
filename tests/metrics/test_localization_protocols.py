"""The named protocol bundles: every number comes back with its protocol, worked out by hand on 4x4 frames."""

import numpy as np
import pytest

from avsep.metrics.localization import binarize, evaluate_class_aware, evaluate_single_source, single_source_cious


def _block(rows, cols, size=4):
    heatmap = np.zeros((size, size))
    heatmap[rows, cols] = 1.0
    return heatmap


def test_single_source_dsol_bundle():
    heatmaps = [_block(slice(0, 2), slice(0, 2)), _block(slice(2, 4), slice(2, 4)), _block(0, 0)]
    boxes = [[[0, 0, 2, 2]], [[0, 0, 2, 2]], [[5, 5, 6, 6]]]  # the third box lies outside the 4x4 frame
    # Sample 1: P = the box -> cIoU 1. Sample 2: P disjoint from the box -> 0. Sample 3: skipped.
    # cIoU@0.5 = 1/2; AUC: f(0) = 1, f(x > 0) = 1/2 -> (1 + 1/2)/2 * 0.05 + 19 * 1/2 * 0.05 = 0.0375 + 0.475.
    result = evaluate_single_source(heatmaps, boxes, "dsol", size=4)
    assert result["protocol"] == "dsol" and result["gt"] == "union"
    assert result["ciou@0.5"] == pytest.approx(0.5) and result["ciou@0.3"] == pytest.approx(0.5)
    assert result["auc"] == pytest.approx(0.5125, abs=1e-6)
    assert (result["n"], result["n_skipped"]) == (2, 1)


def test_single_source_consensus_bundle_and_the_gt_choice():
    # Heatmap = 1 on row 0: consensus keeps > median (0) -> the 4 pixels of row 0.
    # One annotator, soft consensus: G = 0.5 on the 2x2 box. sum(P*G) = 2 * 0.5 = 1; sum G = 2;
    # P on G = 0: (0,2), (0,3) -> 1 / (2 + 2) = 0.25.
    heatmaps, boxes = [_block(0, slice(0, 4))], [[[0, 0, 2, 2]]]
    soft = evaluate_single_source(heatmaps, boxes, "consensus", size=4)
    assert soft["gt"] == "consensus" and soft["auc"] > 0
    np.testing.assert_allclose(single_source_cious(heatmaps, boxes, "consensus", size=4), [0.25])
    # The world's exact box as a binary union: sum(P*G) = 2; sum G = 4; 2 false positives -> 2 / 6.
    exact = single_source_cious(heatmaps, boxes, "consensus", size=4, gt="union")
    np.testing.assert_allclose(exact, [1 / 3])
    assert evaluate_single_source(heatmaps, boxes, "consensus", size=4, gt="union")["gt"] == "union"


def test_single_source_bundle_resizes_maps_bilinearly():
    # A 2x2 delta [[1, 0], [0, 0]] resized to 4x4 is the outer product of (1, .75, .25, 0) with itself.
    # dsol keeps > 0.1: row 0: 1, .75, .25; row 1: .75, .5625, .1875; row 2: .25, .1875 (0.0625 is out)
    # -> 8 pixels, containing the 4 of the box [0,0,2,2]: IoU = 4 / 8.
    scores = single_source_cious([np.array([[1.0, 0.0], [0.0, 0.0]])], [[[0, 0, 2, 2]]], "dsol", size=4)
    np.testing.assert_allclose(scores, [0.5], atol=1e-6)


def test_single_source_bundle_refuses_bad_input():
    with pytest.raises(ValueError, match="heatmaps/boxes: 1 maps but 2 box lists"):
        evaluate_single_source([np.ones((4, 4))], [[[0, 0, 1, 1]]] * 2, "dsol", size=4)
    with pytest.raises(ValueError, match="protocol 'median'"):
        evaluate_single_source([np.ones((4, 4))], [[[0, 0, 1, 1]]], "median", size=4)
    with pytest.raises(ValueError, match="no sample could be scored"):
        evaluate_single_source([np.ones((4, 4))], [[]], "dsol", size=4)
    with pytest.raises(ValueError, match=r"heatmaps\[0\]: contains NaN"):
        evaluate_single_source([np.full((4, 4), np.nan)], [[[0, 0, 1, 1]]], "dsol", size=4)


def _frame():
    # Class 0 = 1 on the top-left 2x2 and 0.4 at (3,3); class 1 = 1 on the bottom-right 2x2 and 0.3 at (0,3);
    # class 2 (silent) = 0.5 on the top row, 0 elsewhere.
    maps = np.zeros((3, 4, 4))
    maps[0, :2, :2], maps[0, 3, 3] = 1.0, 0.4
    maps[1, 2:, 2:], maps[1, 0, 3] = 1.0, 0.3
    maps[2, 0, :] = 0.5
    return maps


def test_class_aware_bundle_by_protocol():
    maps, boxes = [_frame()], [{0: [[0, 0, 2, 2]], 1: [[2, 2, 4, 4]]}]
    # dsol-synthetic (> 0.5 x max): both classes exactly their boxes -> (1 + 1) / 2 = 1.
    synthetic = evaluate_class_aware(maps, boxes, [[2]], "dsol-synthetic", size=4)
    assert synthetic["protocol"] == "dsol-synthetic" and synthetic["rel"] == 0.5
    assert synthetic["ciou@0.5"] == 1.0 and synthetic["auc"] == pytest.approx(1.0)
    # dsol-real (> 0.2): class 0 adds (3,3) -> 4/5; class 1 adds (0,3) -> 4/5; mean 0.8.
    # mssl (> 0.1): the same pixels pass as for 0.2 -> 0.8.
    for protocol in ("dsol-real", "mssl"):
        result = evaluate_class_aware(maps, boxes, [[2]], protocol, size=4)
        assert result["ciou@0.5"] == 1.0 and result["ciou@0.3"] == 1.0
        # AUC of a single 0.8: f = 1 for x <= 0.8 (17 points), 0 after -> 16 * 0.05 + 0.5 * 0.05 = 0.825.
        assert result["auc"] == pytest.approx(0.825, abs=1e-6)
    # NSA of the silent class 2 (tau 0.2): 12 of 16 pixels are 0 <= 0.2; the top row 0.5 is not -> 0.75.
    # Class 2 is the only non-sounding class of the three, so both NSAs agree here.
    assert synthetic["nsa"] == pytest.approx(0.75, abs=1e-6) and synthetic["n_nsa"] == 1
    assert synthetic["nsa_visible"] == pytest.approx(0.75, abs=1e-6) and synthetic["n_nsa_visible"] == 1


def test_mssl_scores_only_frames_with_exactly_two_classes():
    maps = [_frame(), _frame()]
    boxes = [{0: [[0, 0, 2, 2]], 1: [[2, 2, 4, 4]]}, {0: [[0, 0, 2, 2]]}]
    mssl = evaluate_class_aware(maps, boxes, None, "mssl", size=4)
    assert (mssl["n"], mssl["n_skipped"], mssl["nsa_visible"], mssl["n_nsa_visible"]) == (1, 1, None, 0)
    # NSA needs no visible-silent list: frame 1's non-sounding class is 2 -> 12/16; frame 2's are 1 and 2:
    # class 1 is 1 on its 2x2 and 0.3 at (0,3) -> 11/16 <= 0.2, class 2 -> 12/16; mean 23/32.
    # Both frames count, also the one mssl cannot score: (3/4 + 23/32) / 2 = 47/64.
    assert mssl["nsa"] == pytest.approx(47 / 64, abs=1e-6) and mssl["n_nsa"] == 2
    # dsol-real scores the one-class frame too: class 0 alone -> 4/5.
    real = evaluate_class_aware(maps, boxes, None, "dsol-real", size=4)
    assert (real["n"], real["n_skipped"]) == (2, 0)


def test_class_aware_nsa_is_dsol_eq9_by_default_and_visible_beside_it():
    # Five classes on 4x4 maps. Frame: class 0 sounds (its box the top-left 2x2, its map exactly there);
    # class 1 is visible and silent but its map is 0.6 on the top row (4 pixels above tau 0.2);
    # classes 2, 3 and 4 are not in the frame: 2 and 3 are all zero, 4 is 0.3 on the left column (4 pixels).
    maps = np.zeros((5, 4, 4))
    maps[0, :2, :2] = 1.0
    maps[1, 0, :] = 0.6
    maps[4, :, 0] = 0.3
    result = evaluate_class_aware([maps], [{0: [[0, 0, 2, 2]]}], [[1]], "dsol-synthetic", size=4)
    # visible only: class 1 -> 12/16 = 0.75.
    assert result["nsa_visible"] == pytest.approx(0.75, abs=1e-6) and result["n_nsa_visible"] == 1
    # DSOL Eq. 9, every non-sounding class 1..4: (12/16 + 16/16 + 16/16 + 12/16) / 4 = 56/64 = 0.875.
    assert result["nsa"] == pytest.approx(0.875, abs=1e-6) and result["n_nsa"] == 1
    # A frame without a sounding class has no NSA (the released duet eval skips it) but keeps its visible one.
    empty = evaluate_class_aware([maps, maps], [{0: [[0, 0, 2, 2]]}, {}], [[1], [1]], "dsol-synthetic", size=4)
    assert (empty["n_nsa"], empty["n_nsa_visible"], empty["n"], empty["n_skipped"]) == (1, 2, 1, 1)


def test_mssl_flickr_keeps_above_half_the_max_where_consensus_keeps_above_the_median():
    # Row 0 = 1.0, 0.4, 0.4, 0.4; row 1 = 0.3; row 2 = 0.2; row 3 = 0. Sorted: four 0, four 0.2, four 0.3,
    # three 0.4, one 1.0; the median (index 8) is 0.3, so consensus keeps row 0 (4 pixels);
    # 0.5 x max = 0.5 keeps only (0, 0); dsol's 0.1 x max keeps rows 0-2 (12 pixels).
    heatmap = np.zeros((4, 4))
    heatmap[0] = [1.0, 0.4, 0.4, 0.4]
    heatmap[1], heatmap[2] = 0.3, 0.2
    np.testing.assert_array_equal(binarize(heatmap, "mssl-flickr"), _block(0, 0) > 0)
    np.testing.assert_array_equal(binarize(heatmap, "consensus"), _block(0, slice(0, 4)) > 0)
    boxes = [[[0, 0, 1, 1]]]  # the one pixel (0, 0)
    # Binary ground truth: mssl-flickr 1/1; consensus 1/4; dsol 1/12.
    for protocol, expected in (("mssl-flickr", 1.0), ("consensus", 1 / 4), ("dsol", 1 / 12)):
        np.testing.assert_allclose(single_source_cious([heatmap], boxes, protocol, size=4, gt="union"), [expected])
    # mssl-flickr scores against the consensus map by default, as MSSL's Flickr test: one annotator gives
    # G = 0.5 on (0, 0) -> 0.5 / (0.5 + 0) = 1; consensus: 0.5 / (0.5 + 3 false positives) = 1/7.
    result = evaluate_single_source([heatmap], boxes, "mssl-flickr", size=4)
    assert result["protocol"] == "mssl-flickr" and result["gt"] == "consensus" and result["ciou@0.5"] == 1.0
    np.testing.assert_allclose(single_source_cious([heatmap], boxes, "consensus", size=4), [1 / 7])
    # Max-normalised, not min-max: a floor of 1 everywhere moves the threshold to 0.5 x 2 = 1, so every pixel
    # but row 3 (exactly 1.0) passes, while consensus is unchanged by the shift.
    np.testing.assert_array_equal(binarize(heatmap + 1, "mssl-flickr"), _block(slice(0, 3), slice(0, 4)) > 0)
    np.testing.assert_array_equal(binarize(heatmap + 1, "consensus"), _block(0, slice(0, 4)) > 0)


def test_class_aware_bundle_refuses_single_source_protocols():
    with pytest.raises(ValueError, match="protocol 'dsol': a single-source protocol"):
        evaluate_class_aware([_frame()], [{0: [[0, 0, 2, 2]]}], None, "dsol", size=4)
    with pytest.raises(ValueError, match="protocol 'mssl-flickr': a single-source protocol"):
        evaluate_class_aware([_frame()], [{0: [[0, 0, 2, 2]]}], None, "mssl-flickr", size=4)
    with pytest.raises(ValueError, match="silent_classes: 2 lists for 1 frames"):
        evaluate_class_aware([_frame()], [{0: [[0, 0, 2, 2]]}], [[2], [2]], "mssl", size=4)
