"""Bilinear resizing of heatmaps to the scoring size, as ``cv2.resize(..., INTER_LINEAR)`` does.

The papers' evaluation code upsamples the model's map (14×14, 16×16, …) to 224×224 with OpenCV's bilinear
resize before binarising; how the map is resized changes which pixels pass a threshold, so the resize is part
of the protocol. OpenCV samples at half-pixel centres (``src = (dst + 0.5) · in/out − 0.5``) and replicates
the border; this is the same as ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``.
"""

from __future__ import annotations

import numpy as np


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output index: the two source indices and the weight of the second, ``(n_out,)`` each."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    low = np.floor(src).astype(np.int64)
    weight = src - low
    # Outside the first/last source centre OpenCV replicates the edge value.
    weight[low < 0] = 0.0
    low[low < 0] = 0
    at_end = low >= n_in - 1
    weight[at_end] = 0.0
    low[at_end] = n_in - 1
    high = np.minimum(low + 1, n_in - 1)
    return low, high, weight


def resize_bilinear(heatmap, size) -> np.ndarray:
    """``heatmap (h, w)`` → ``(H, W)`` float64; ``size`` is an int (square) or ``(H, W)``."""
    values = np.asarray(heatmap, dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"heatmap: expected a non-empty 2-D array, got shape {values.shape}")
    # np.isscalar's type guard also admits complex and bytes, which int() refuses at run time as it should
    height, width = (int(size), int(size)) if np.isscalar(size) else (int(s) for s in size)  # type: ignore[arg-type]
    if height < 1 or width < 1:
        raise ValueError(f"size: expected positive (height, width), got {size!r}")
    if values.shape == (height, width):
        return values.copy()
    r0, r1, rw = _axis_weights(values.shape[0], height)
    c0, c1, cw = _axis_weights(values.shape[1], width)
    rows = values[r0] * (1 - rw)[:, None] + values[r1] * rw[:, None]
    return rows[:, c0] * (1 - cw)[None, :] + rows[:, c1] * cw[None, :]
