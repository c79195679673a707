"""Ground-truth maps, binarisation and resizing on maps small enough to check by hand."""

import numpy as np
import pytest
import torch

from avsep.metrics.localization import binarize, box_mask, gt_map, relative_threshold, rescale_boxes
from avsep.metrics.resize import resize_bilinear


def test_box_starting_at_zero_covers_pixel_zero():
    # Edges, max exclusive: [0, 0, 2, 2] covers rows 0..1 and columns 0..1 (MSSL's shifted box was empty here).
    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(gt_map([[0, 0, 2, 2]], 4, soft=False), expected)


def test_consensus_map_of_two_annotators():
    # A = [0,0,2,2] covers (0,0),(0,1),(1,0),(1,1); B = [1,1,3,3] covers (1,1),(1,2),(2,1),(2,2).
    # Sum / 2, clipped to 1: (1,1) is in both -> 2/2 = 1; the other six pixels -> 1/2.
    expected = np.array([[0.5, 0.5, 0.0, 0.0], [0.5, 1.0, 0.5, 0.0], [0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(gt_map([[0, 0, 2, 2], [1, 1, 3, 3]], 4, soft=True), expected, atol=1e-12)
    # Binary union: the same seven pixels at 1.
    np.testing.assert_array_equal(gt_map([[0, 0, 2, 2], [1, 1, 3, 3]], 4, soft=False), expected > 0)


def test_consensus_clips_three_agreeing_annotators_at_one():
    # Three annotators on pixel (0,0): 3 / 2 = 1.5 -> clipped to 1. One annotator alone: 1 / 2 = 0.5.
    three = gt_map([[0, 0, 1, 1]] * 3, 2)
    one = gt_map([[0, 0, 1, 1]], 2)
    assert three[0, 0] == 1.0 and one[0, 0] == 0.5 and three.sum() == 1.0


def test_fractional_and_out_of_frame_boxes():
    # floor(0.9) = 0, floor(2.7) = 2 (exclusive): columns 0 and 1 of row 0.
    np.testing.assert_array_equal(np.argwhere(box_mask([0.9, 0, 2.7, 1], 4)), [[0, 0], [0, 1]])
    # Clipped to the frame: [-5, -5, 2, 2] is [0, 0, 2, 2]; [3, 3, 10, 10] is the single pixel (3, 3).
    np.testing.assert_array_equal(box_mask([-5, -5, 2, 2], 4), box_mask([0, 0, 2, 2], 4))
    np.testing.assert_array_equal(np.argwhere(box_mask([3, 3, 10, 10], 4)), [[3, 3]])
    # Non-square frames take (height, width).
    assert gt_map([[0, 0, 5, 1]], (2, 3), soft=False).sum() == 3


def test_no_boxes_give_an_empty_map():
    assert gt_map([], 4).sum() == 0


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([[3, 0, 1, 2]], r"boxes_xyxy\[0\].*max edge before min edge"),
        ([[0, 0, np.nan, 2]], "NaN"),
        ([[0, 0, 1]], r"shape \(B, 4\)"),
    ],
)
def test_bad_boxes_are_named(boxes, message):
    with pytest.raises(ValueError, match=message):
        gt_map(boxes, 4)


def test_rescale_boxes_from_flickr_256_to_224():
    # 224 * 100 / 256 = 87.5 -> the pixel convention floors it to 87, as int(224 * 100 / 256) does.
    scaled = rescale_boxes([[0, 100, 256, 128]], 256, 224)
    np.testing.assert_allclose(scaled, [[0, 87.5, 224, 112]])
    assert np.argwhere(box_mask(scaled[0], 224))[0].tolist() == [87, 0]


def test_consensus_binarize_keeps_above_the_median():
    # Values 0..15 -> min-max i/15; sorted index 16 // 2 = 8 -> median 8/15; keep > 8/15: pixels 9..15.
    heatmap = np.arange(16, dtype=float).reshape(4, 4)
    expected = (np.arange(16) >= 9).reshape(4, 4)
    np.testing.assert_array_equal(binarize(heatmap, "consensus"), expected)
    # Min-max normalisation makes it invariant to an affine change of the map.
    np.testing.assert_array_equal(binarize(3 * heatmap - 7, "consensus"), expected)


def test_consensus_binarize_ties_at_the_maximum():
    # Ten pixels at 1, six at 0: sorted index 8 is a 1, nothing is > 1, the original keeps pixels equal to 1.
    heatmap = np.zeros(16)
    heatmap[6:] = 1.0
    assert binarize(heatmap.reshape(4, 4), "consensus").sum() == 10


def test_constant_heatmap_is_the_whole_image_under_consensus_and_empty_or_full_under_relative():
    flat = np.full((3, 3), 0.7)
    assert binarize(flat, "consensus").all()  # the whole-image baseline is a constant map
    assert binarize(flat, "dsol").all()  # 0.7 > 0.1 * 0.7
    assert not binarize(np.zeros((3, 3)), "dsol").any()  # 0 > 0.1 * 0 is false: an all-zero map predicts nothing
    assert not binarize(np.full((2, 2), -1.0), "dsol").any()  # -1 > -0.1 is false


def test_relative_binarize_is_strict():
    heatmap = np.array([[0.0, 0.05, 0.1, 0.2], [0.5, 0.51, 1.0, 0.3]])
    # dsol: > 0.1 * 1.0, strictly -> 0.1 itself is out.
    np.testing.assert_array_equal(binarize(heatmap, "dsol"), [[0, 0, 0, 1], [1, 1, 1, 1]])
    # relative:0.5 -> > 0.5: 0.51 and 1.0 only.
    np.testing.assert_array_equal(binarize(heatmap, "relative:0.5"), [[0, 0, 0, 0], [0, 1, 1, 0]])


def test_protocol_names():
    assert relative_threshold("dsol") == 0.1
    assert relative_threshold("dsol-synthetic") == 0.5
    assert relative_threshold("dsol-real") == 0.2
    assert relative_threshold("mssl") == 0.1
    assert relative_threshold("relative:0.25") == 0.25
    for bad in ("relative:abc", "relative:-1", "relative:nan", "median"):
        with pytest.raises(ValueError, match=f"protocol {bad!r}"):
            binarize(np.ones((2, 2)), bad)


def test_bad_heatmap_is_named():
    with pytest.raises(ValueError, match="heatmap: contains NaN"):
        binarize(np.array([[0.0, np.nan]]), "dsol")
    with pytest.raises(ValueError, match="heatmap: expected a 2-D array"):
        binarize(np.ones(4), "dsol")


def test_bilinear_resize_by_hand():
    # [[0, 1], [2, 3]] -> 4x4. Source coordinate of output i: (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25;
    # clamped at the borders, the weights of the second sample are 0, 0.25, 0.75, 1 (edge replicated).
    # Along x the row (0, 1) becomes 0, 0.25, 0.75, 1; along y the column (0, 2) becomes 0, 0.5, 1.5, 2.
    out = resize_bilinear([[0.0, 1.0], [2.0, 3.0]], 4)
    expected = np.array([0, 0.5, 1.5, 2])[:, None] + np.array([0, 0.25, 0.75, 1])[None, :]
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_bilinear_resize_matches_torch_half_pixel_interpolation():
    rng = np.random.default_rng(0)
    small = rng.random((7, 5))
    ours = resize_bilinear(small, (224, 160))
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(small)[None, None], size=(224, 160), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_consensus_binarize_matches_the_lvs_procedure_on_random_and_tied_maps():
    # The LVS steps: normalise, threshold = sorted[H*W // 2], pred[pred > t] = 1, then pred[pred < 1] = 0.
    def lvs(heatmap):
        pred = (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())
        threshold = np.sort(pred.flatten())[pred.size // 2]
        pred[pred > threshold] = 1
        pred[pred < 1] = 0
        return pred.astype(bool)

    rng = np.random.default_rng(0)
    for heatmap in (rng.random((8, 8)), np.round(rng.random((8, 8)) * 3), rng.random((5, 7)) - 2):
        np.testing.assert_array_equal(binarize(heatmap, "consensus"), lvs(heatmap.copy()))
