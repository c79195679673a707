"""Sound of Pixels' log-frequency warp: the grid, and numpy and torch giving the same rows."""

import numpy as np
import pytest
import torch

from avsep.features import logfreq_source_rows, logfreq_warp, logfreq_warp_numpy, logfreq_warp_torch


def test_source_rows_follow_the_sop_grid():
    rows = logfreq_source_rows(256, 512)
    y = np.linspace(-1, 1, 256)
    grid_y = (np.power(21, (y + 1) / 2) - 11) / 10  # SoP utils.warpgrid, warp=True
    np.testing.assert_allclose(rows, (grid_y + 1) / 2 * 511, atol=1e-9)
    assert rows[0] == pytest.approx(0.0) and rows[-1] == pytest.approx(511.0)
    assert (np.diff(rows) > 0).all() and np.diff(rows)[0] < 1 < np.diff(rows)[-1]  # dense low, sparse high


def test_warp_of_a_frequency_ramp_reads_the_source_rows():
    ramp = np.repeat(np.arange(512, dtype=np.float64)[:, None], 7, axis=1)  # mag[f, t] = f
    expected = np.repeat(logfreq_source_rows(256, 512)[:, None], 7, axis=1)
    np.testing.assert_allclose(logfreq_warp_numpy(ramp, 256), expected, atol=1e-9)
    warped = logfreq_warp_torch(torch.from_numpy(ramp)[None], 256)[0].numpy()
    np.testing.assert_allclose(warped, expected, atol=1e-6)


def test_numpy_and_torch_agree_on_random_magnitudes():
    mag = np.random.default_rng(0).random((3, 512, 256))
    batched = logfreq_warp(torch.from_numpy(mag), 256).numpy()
    for i in range(3):
        np.testing.assert_allclose(batched[i], logfreq_warp(mag[i], 256), atol=1e-9)


def test_time_axis_is_untouched():
    mag = np.random.default_rng(1).random((512, 5))
    warped = logfreq_warp_numpy(mag, 256)
    np.testing.assert_allclose(warped[0], mag[0])  # the lowest row reads row 0 exactly, frame by frame
    np.testing.assert_allclose(warped[-1], mag[-1])


@pytest.mark.parametrize(
    "mag, fn", [(np.zeros((2, 512, 256)), logfreq_warp_numpy), (torch.zeros(512, 256), logfreq_warp_torch)]
)
def test_wrong_layout_is_refused(mag, fn):
    with pytest.raises(ValueError, match="mag: expected"):
        fn(mag, 256)


def test_too_few_bins_is_refused():
    with pytest.raises(ValueError, match="need n_bins >= 2"):
        logfreq_source_rows(1, 512)
