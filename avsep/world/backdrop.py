"""Scenery that is not an instrument: varied backgrounds, clutter behind the players, occluders in front."""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw

from avsep.world.sprites import Sprite

# Rooms are muted: scenery colours stay less saturated than most instrument finishes.
STYLES = ("gradient", "room", "checker", "blobs")
CLUTTER_SIZE = (0.1, 0.35)  # fraction of the frame's smaller side
OCCLUSION_COVER = (0.2, 0.4)  # fraction of an object's box an occluder hides


def _colour(rng: np.random.Generator, saturation=(0.05, 0.35), value=(0.25, 0.9)) -> np.ndarray:
    h = rng.random()
    s, v = rng.uniform(*saturation), rng.uniform(*value)
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A random background (height, width, 3) float32 in 0..255 in one of :data:`STYLES`."""
    style = STYLES[int(rng.integers(len(STYLES)))]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    a, b = _colour(rng), _colour(rng)
    if style == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        w = np.clip(0.5 + (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)), 0, 1)
        img = a * (1 - w) + b * w
    elif style == "room":
        horizon = rng.uniform(0.55, 0.8)
        stripes = 1 + 0.04 * np.sin(2 * np.pi * rng.uniform(8, 30) * x)
        img = np.where(y < horizon, a * stripes, b * (0.8 + 0.2 * (y - horizon) / (1 - horizon)))
    elif style == "checker":
        period = rng.uniform(0.08, 0.25)
        cells = (np.floor(x / period) + np.floor(y / period)) % 2
        img = a * (1 - cells) + (a * 0.7 + b * 0.3) * cells
    else:
        img = np.broadcast_to(a, (height, width, 3)).copy()
        for _ in range(int(rng.integers(2, 5))):
            cx, cy, r = rng.random(), rng.random(), rng.uniform(0.1, 0.4)
            w = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
            img = img * (1 - w) + _colour(rng) * w
    return np.broadcast_to(img, (height, width, 3)).astype(np.float32)


def _clutter_item(
    draw: ImageDraw.ImageDraw, x0: float, y0: float, size: float, kind: int, rng: np.random.Generator
) -> None:
    """One non-instrument thing: a table, a plant, a picture frame, a lamp or a box."""
    c1 = tuple(int(v) for v in _colour(rng, (0.1, 0.5))) + (255,)
    c2 = tuple(int(v) for v in _colour(rng, (0.1, 0.5))) + (255,)
    w, h = size * rng.uniform(0.6, 1.4), size
    if kind == 0:  # table
        draw.rectangle([x0, y0, x0 + w, y0 + h * 0.15], fill=c1)
        draw.rectangle([x0 + w * 0.05, y0, x0 + w * 0.12, y0 + h], fill=c1)
        draw.rectangle([x0 + w * 0.88, y0, x0 + w * 0.95, y0 + h], fill=c1)
    elif kind == 1:  # potted plant
        draw.polygon(
            [
                (x0 + w * 0.3, y0 + h * 0.6),
                (x0 + w * 0.7, y0 + h * 0.6),
                (x0 + w * 0.62, y0 + h),
                (x0 + w * 0.38, y0 + h),
            ],
            fill=c1,
        )
        green = tuple(int(v) for v in np.array(colorsys.hsv_to_rgb(rng.uniform(0.22, 0.4), 0.6, 0.5)) * 255)
        draw.ellipse([x0, y0, x0 + w, y0 + h * 0.65], fill=green + (255,))
    elif kind == 2:  # picture frame
        draw.rectangle([x0, y0, x0 + w, y0 + h * 0.8], fill=c1)
        draw.rectangle([x0 + w * 0.1, y0 + h * 0.1, x0 + w * 0.9, y0 + h * 0.7], fill=c2)
    elif kind == 3:  # lamp
        draw.rectangle([x0 + w * 0.47, y0 + h * 0.3, x0 + w * 0.53, y0 + h], fill=c1)
        draw.polygon(
            [(x0 + w * 0.3, y0), (x0 + w * 0.7, y0), (x0 + w * 0.85, y0 + h * 0.35), (x0 + w * 0.15, y0 + h * 0.35)],
            fill=c2,
        )
    else:  # box / speaker
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=c1)
        draw.ellipse([x0 + w * 0.25, y0 + h * 0.3, x0 + w * 0.75, y0 + h * 0.7], fill=c2)


N_CLUTTER_KINDS = 5


def add_clutter(img: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``count`` clutter items onto ``img`` (H, W, 3) float32; returns the new image."""
    height, width = img.shape[:2]
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas, "RGBA")
    side = min(height, width)
    for _ in range(count):
        size = side * rng.uniform(*CLUTTER_SIZE)
        _clutter_item(
            draw,
            rng.uniform(-0.1, 0.95) * width,
            rng.uniform(-0.1, 0.95) * height,
            size,
            int(rng.integers(N_CLUTTER_KINDS)),
            rng,
        )
    return np.asarray(canvas, dtype=np.float32)


def occluder(box_w: int, box_h: int, rng: np.random.Generator) -> tuple[Sprite, str]:
    """A plain foreground thing (stand, table edge, plant) sized to hide part of a ``box_w`` x ``box_h`` object.

    Returns the sprite and the side it covers from (``bottom``, ``left`` or ``right``).
    """
    side = ("bottom", "left", "right")[int(rng.integers(3))]
    cover = rng.uniform(*OCCLUSION_COVER)
    w = max(2, int(box_w * (cover if side != "bottom" else rng.uniform(0.8, 1.3))))
    h = max(2, int(box_h * (cover if side == "bottom" else rng.uniform(0.6, 1.0))))
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in _colour(rng, (0.05, 0.6), (0.15, 0.7))) + (255,)
    if rng.random() < 0.5:
        draw.rectangle([0, 0, w - 1, h - 1], fill=colour)
    else:
        draw.rounded_rectangle([0, 0, w - 1, h - 1], radius=min(w, h) // 3, fill=colour)
    rgba = np.asarray(image, dtype=np.float32)
    return Sprite(rgba[..., :3], rgba[..., 3:] / 255.0, (0, 0, w, h)), side
