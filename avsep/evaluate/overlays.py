"""Heatmap overlays for the report: the frame, the model's map over it, and the ground-truth boxes
(green = sounding, red = silent), one panel per map, written as a PNG under its final name only when complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: evaluation runs on servers and in CI
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from avsep.io import save_png
from avsep.metrics.resize import resize_bilinear

SOUNDING_COLOUR = "lime"
SILENT_COLOUR = "red"
MAP_ALPHA = 0.5  # heatmap opacity over the frame
BOX_WIDTH = 2.0  # box outline, points
PANEL_INCHES = 3.0
DPI = 100


def normalised_map(heatmap, frame_hw: tuple[int, int]) -> np.ndarray:
    """``heatmap (h, w)`` resized (bilinear) to the frame and min-max normalised to [0, 1]; a constant map is
    all ones (it predicts every pixel equally)."""
    resized = resize_bilinear(np.asarray(heatmap, np.float64), frame_hw)
    low, high = resized.min(), resized.max()
    return np.ones_like(resized) if high == low else (resized - low) / (high - low)


def save_overlay(
    path: str | Path,
    frame: np.ndarray,
    maps: Sequence[np.ndarray],
    titles: Sequence[str],
    objects: Sequence[dict],
    suptitle: str = "",
) -> Path:
    """Write ``path`` (PNG): one panel per map in ``maps`` (each ``(h, w)``), drawn over ``frame``
    ``(H, W, 3) uint8`` with every object's box (``{"box": [xmin, ymin, xmax, ymax]`` in frame pixels,
    ``"sounding": bool, "class": str}``) outlined green when sounding and red when silent."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"{path}: frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    if len(maps) != len(titles) or not maps:
        raise ValueError(f"{path}: {len(maps)} maps and {len(titles)} titles; need one title per map, >= 1 map")
    height, width = frame.shape[:2]
    fig, axes = plt.subplots(1, len(maps), figsize=(PANEL_INCHES * len(maps), PANEL_INCHES + 0.4), squeeze=False)
    try:
        for ax, heatmap, title in zip(axes[0], maps, titles):
            ax.imshow(frame)
            ax.imshow(normalised_map(heatmap, (height, width)), cmap="jet", alpha=MAP_ALPHA, vmin=0, vmax=1)
            for obj in objects:
                xmin, ymin, xmax, ymax = obj["box"]
                colour = SOUNDING_COLOUR if obj["sounding"] else SILENT_COLOUR
                # Boxes are pixel edges (max exclusive); imshow puts pixel c's centre at c, its left edge at c - 0.5.
                ax.add_patch(
                    Rectangle(
                        (xmin - 0.5, ymin - 0.5),
                        xmax - xmin,
                        ymax - ymin,
                        fill=False,
                        edgecolor=colour,
                        linewidth=BOX_WIDTH,
                    )
                )
            ax.set_title(title, fontsize=8)
            ax.set_axis_off()
        if suptitle:
            fig.suptitle(suptitle, fontsize=8)
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save_png(fig, path, DPI)
