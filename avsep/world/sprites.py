"""Procedural instrument sprites: each class its own shape, palette and texture, varied per object.

A sprite is drawn once per object and clip (supersampled, textured, colour-jittered, rotated) and then
only translated per frame by :mod:`avsep.world.render`, which keeps per-frame work to array slicing.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from avsep.world.classes import CLASSES

SUPERSAMPLE = 2  # draw at twice the size and reduce: cheap anti-aliasing


@dataclass
class Sprite:
    """A pre-rendered object. ``rgb``: (h, w, 3) float32 in 0..255; ``alpha``: (h, w, 1) float32 in 0..1;
    ``bbox``: tight ``(x0, y0, x1, y1)`` of the visible pixels in sprite coordinates (x1, y1 exclusive)."""

    rgb: np.ndarray
    alpha: np.ndarray
    bbox: tuple[int, int, int, int]

    def premultiplied(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb * alpha, 1 - alpha)``, the two factors of one blend: ``out = under * (1 - a) + rgb * a``."""
        return self.rgb * self.alpha, 1.0 - self.alpha


class _Pen:
    """Draws in coordinates normalised to the sprite box: (0, 0) top left, (1, 1) bottom right."""

    def __init__(self, draw: ImageDraw.ImageDraw, width: int, height: int, palette: dict):
        self.d, self.w, self.h, self.pal = draw, width, height, palette

    def _xy(self, points):
        return [(x * (self.w - 1), y * (self.h - 1)) for x, y in points]

    def _c(self, colour):
        return self.pal[colour] + (255,) if isinstance(colour, str) else colour

    def ellipse(self, x0, y0, x1, y1, fill, outline=None, width=0.0):
        self.d.ellipse(
            self._xy([(x0, y0), (x1, y1)]),
            fill=self._c(fill),
            outline=self._c(outline) if outline else None,
            width=max(1, int(width * self.w)),
        )

    def rect(self, x0, y0, x1, y1, fill):
        self.d.rectangle(self._xy([(x0, y0), (x1, y1)]), fill=self._c(fill))

    def poly(self, points, fill):
        self.d.polygon(self._xy(points), fill=self._c(fill))

    def line(self, points, fill, width):
        self.d.line(self._xy(points), fill=self._c(fill), width=max(1, int(width * min(self.w, self.h))))


def _accordion(p: _Pen) -> None:
    p.rect(0.0, 0.05, 0.3, 0.95, "body")
    p.rect(0.7, 0.05, 1.0, 0.95, "body")
    for i in range(9):  # bellows pleats
        x = 0.3 + i * 0.4 / 9
        p.rect(x, 0.08, x + 0.4 / 18, 0.92, "dark")
        p.rect(x + 0.4 / 18, 0.08, x + 0.4 / 9, 0.92, "accent")
    p.rect(0.04, 0.1, 0.16, 0.9, "accent")  # keyboard
    for i in range(8):
        y = 0.12 + i * 0.1
        p.rect(0.04, y, 0.11, y + 0.04, "dark")
    for i in range(12):  # bass buttons
        p.ellipse(0.76 + (i % 3) * 0.07, 0.2 + (i // 3) * 0.15, 0.81 + (i % 3) * 0.07, 0.25 + (i // 3) * 0.15, "light")


def _violin_like(p: _Pen, neck: float, endpin: bool) -> None:
    top = neck
    p.rect(0.45, 0.0, 0.55, top + 0.1, "dark")  # neck and fingerboard
    p.ellipse(0.38, 0.0, 0.62, 0.06, "dark")  # scroll
    p.ellipse(0.1, top, 0.9, top + (1 - top) * 0.45, "body")
    p.ellipse(0.0, top + (1 - top) * 0.4, 1.0, 0.97 if endpin else 1.0, "body")
    p.rect(0.3, top + (1 - top) * 0.33, 0.7, top + (1 - top) * 0.55, "body")  # waist
    p.ellipse(0.1, top + (1 - top) * 0.3, 0.3, top + (1 - top) * 0.55, (0, 0, 0, 0))
    p.ellipse(0.7, top + (1 - top) * 0.3, 0.9, top + (1 - top) * 0.55, (0, 0, 0, 0))
    p.rect(0.45, top, 0.55, top + (1 - top) * 0.7, "dark")  # fingerboard over the body
    for x in (0.3, 0.66):  # f-holes
        p.line([(x, top + (1 - top) * 0.45), (x + 0.04, top + (1 - top) * 0.7)], "dark", 0.03)
    p.rect(0.35, top + (1 - top) * 0.78, 0.65, top + (1 - top) * 0.82, "accent")  # bridge
    if endpin:
        p.rect(0.48, 0.96, 0.52, 1.0, "accent")


def _violin(p: _Pen) -> None:
    _violin_like(p, neck=0.32, endpin=False)


def _cello(p: _Pen) -> None:
    _violin_like(p, neck=0.28, endpin=True)


def _guitar(p: _Pen) -> None:
    p.rect(0.4, 0.0, 0.6, 0.1, "dark")  # head
    p.rect(0.44, 0.05, 0.56, 0.5, "accent")  # neck
    for i in range(6):
        p.rect(0.44, 0.1 + i * 0.06, 0.56, 0.11 + i * 0.06, "light")  # frets
    p.ellipse(0.12, 0.42, 0.88, 0.68, "body")
    p.ellipse(0.0, 0.58, 1.0, 1.0, "body")
    p.ellipse(0.34, 0.6, 0.66, 0.72, "dark")  # sound hole
    p.rect(0.32, 0.86, 0.68, 0.9, "dark")  # bridge


def _clarinet(p: _Pen) -> None:
    p.poly([(0.3, 0.0), (0.7, 0.0), (0.6, 0.08), (0.4, 0.08)], "dark")  # mouthpiece
    p.rect(0.3, 0.06, 0.7, 0.85, "body")
    p.poly([(0.3, 0.83), (0.7, 0.83), (1.0, 1.0), (0.0, 1.0)], "body")  # bell
    for i in range(7):
        y = 0.15 + i * 0.09
        p.ellipse(0.35, y, 0.65, y + 0.03, "accent")
    p.rect(0.28, 0.3, 0.72, 0.32, "accent")
    p.rect(0.28, 0.6, 0.72, 0.62, "accent")


def _erhu(p: _Pen) -> None:
    p.rect(0.47, 0.0, 0.56, 0.88, "body")  # long neck
    p.rect(0.38, 0.04, 0.66, 0.07, "dark")  # tuning pegs
    p.rect(0.38, 0.14, 0.66, 0.17, "dark")
    p.poly([(0.25, 0.78), (0.75, 0.78), (0.85, 0.86), (0.75, 0.95), (0.25, 0.95), (0.15, 0.86)], "body")
    p.poly([(0.3, 0.8), (0.7, 0.8), (0.78, 0.86), (0.7, 0.93), (0.3, 0.93), (0.22, 0.86)], "light")
    p.line([(0.0, 0.5), (1.0, 0.83)], "dark", 0.05)  # bow stick
    p.line([(0.02, 0.53), (0.98, 0.86)], "accent", 0.03)  # bow hair


def _flute(p: _Pen) -> None:
    p.rect(0.0, 0.25, 1.0, 0.75, "body")
    p.ellipse(0.06, 0.3, 0.1, 0.7, "dark")  # embouchure hole
    for i in range(8):
        x = 0.3 + i * 0.08
        p.ellipse(x, 0.1, x + 0.05, 0.9, "accent")
        p.ellipse(x + 0.01, 0.3, x + 0.04, 0.7, "dark")
    p.rect(0.0, 0.2, 0.02, 0.8, "dark")


def _saxophone(p: _Pen) -> None:
    p.line([(0.55, 0.0), (0.62, 0.12)], "dark", 0.06)  # neck and mouthpiece
    p.poly([(0.5, 0.1), (0.72, 0.1), (0.72, 0.8), (0.5, 0.8)], "body")  # main tube
    p.ellipse(0.1, 0.62, 0.72, 0.98, "body")  # the U bend
    p.ellipse(0.28, 0.62, 0.52, 0.82, (0, 0, 0, 0))
    p.poly([(0.08, 0.5), (0.34, 0.5), (0.3, 0.82), (0.12, 0.82)], "body")  # rising bell
    p.ellipse(0.02, 0.44, 0.4, 0.56, "dark")  # bell mouth
    for i in range(6):
        y = 0.2 + i * 0.09
        p.ellipse(0.54, y, 0.68, y + 0.05, "accent")


def _trumpet(p: _Pen) -> None:
    p.rect(0.0, 0.42, 0.75, 0.58, "body")  # lead pipe
    p.poly([(0.7, 0.4), (1.0, 0.0), (1.0, 1.0), (0.7, 0.6)], "body")  # bell
    p.ellipse(0.93, 0.0, 1.0, 1.0, "dark")
    p.rect(0.15, 0.62, 0.65, 0.82, "body")  # lower loop
    p.rect(0.2, 0.66, 0.6, 0.78, (0, 0, 0, 0))
    for x in (0.32, 0.42, 0.52):  # three valves
        p.rect(x, 0.1, x + 0.07, 0.7, "light")
        p.rect(x - 0.01, 0.05, x + 0.08, 0.12, "accent")
    p.rect(0.0, 0.38, 0.05, 0.62, "dark")  # mouthpiece


def _tuba(p: _Pen) -> None:
    p.ellipse(0.1, 0.35, 0.9, 1.0, "body")  # coiled body
    p.ellipse(0.25, 0.5, 0.75, 0.88, "dark")
    p.ellipse(0.32, 0.57, 0.68, 0.81, "body")
    p.poly([(0.45, 0.45), (0.75, 0.45), (1.0, 0.0), (0.25, 0.0)], "body")  # big bell on top
    p.ellipse(0.25, 0.0, 1.0, 0.08, "dark")
    for x in (0.2, 0.3, 0.4, 0.5):
        p.rect(x, 0.42, x + 0.06, 0.72, "accent")  # valves


def _xylophone(p: _Pen) -> None:
    p.poly([(0.0, 0.35), (1.0, 0.45), (1.0, 0.55), (0.0, 0.65)], "dark")  # frame rails
    p.rect(0.05, 0.65, 0.1, 1.0, "body")  # legs
    p.rect(0.9, 0.55, 0.95, 1.0, "body")
    bars = 10
    for i in range(bars):
        x = 0.02 + i * 0.96 / bars
        length = 0.9 - 0.5 * i / bars
        hue = i / bars
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.9)
        p.rect(
            x,
            0.5 - length / 2,
            x + 0.96 / bars * 0.8,
            0.5 + length / 2,
            (int(r * 255), int(g * 255), int(b * 255), 255),
        )
    p.line([(0.3, 0.0), (0.5, 0.3)], "light", 0.05)  # mallets
    p.line([(0.7, 0.0), (0.6, 0.3)], "light", 0.05)


DRAWERS: dict[str, Callable[[_Pen], None]] = {
    "accordion": _accordion,
    "acoustic_guitar": _guitar,
    "cello": _cello,
    "clarinet": _clarinet,
    "erhu": _erhu,
    "flute": _flute,
    "saxophone": _saxophone,
    "trumpet": _trumpet,
    "tuba": _tuba,
    "violin": _violin,
    "xylophone": _xylophone,
}


def jitter_palette(palette: dict, amount: float, rng: np.random.Generator) -> dict:
    """Shift every colour's hue, saturation and value by up to ``amount`` (HSV units), one shift per object."""
    dh, ds, dv = rng.uniform(-amount, amount, size=3)
    out = {}
    for role, (r, g, b) in palette.items():
        h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        r2, g2, b2 = colorsys.hsv_to_rgb((h + dh * 0.5) % 1.0, min(1, max(0, s + ds)), min(1, max(0, v + dv)))
        out[role] = (int(r2 * 255), int(g2 * 255), int(b2 * 255))
    return out


def _texture(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A multiplicative surface pattern (height, width, 1) around 1.0: wood grain, metal shine or grain noise."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    if kind == "wood":
        freq, phase = rng.uniform(12, 24), rng.uniform(0, 2 * math.pi)
        field = 1 + 0.12 * np.sin(2 * math.pi * freq * x + 3 * np.sin(2 * math.pi * 2 * y) + phase)
    elif kind == "metal":
        centre = rng.uniform(0.25, 0.45)
        field = 0.85 + 0.35 * np.exp(-((x - centre) ** 2) / 0.02) + 0 * y
    else:
        field = 1 + 0.05 * rng.standard_normal((height, width)).astype(np.float32)
    return field[..., None].astype(np.float32)


def draw_sprite(
    name: str, height: int, aspect: float, rotation_deg: float, colour_jitter: float, rng: np.random.Generator
) -> Sprite:
    """Draw one object of class ``name``: ``height`` pixels tall before rotation, width ``height / aspect``.

    The palette is jittered by ``colour_jitter``; the sprite is rotated by ``rotation_deg`` (counter-clockwise)
    with its canvas expanded so nothing is cut.
    """
    spec = CLASSES[name]
    width = max(2, int(round(height / aspect)))  # noqa: RUF046 - height may be a NumPy scalar
    height = max(2, int(height))
    ss_w, ss_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    image = Image.new("RGBA", (ss_w, ss_h), (0, 0, 0, 0))
    DRAWERS[name](_Pen(ImageDraw.Draw(image), ss_w, ss_h, jitter_palette(spec.palette, colour_jitter, rng)))
    image = image.resize((width, height), Image.Resampling.BOX)
    if rotation_deg:
        image = image.rotate(rotation_deg, resample=Image.Resampling.BILINEAR, expand=True)
    rgba = np.asarray(image, dtype=np.float32)
    rgb = rgba[..., :3] * _texture(spec.texture, rgba.shape[0], rgba.shape[1], rng)
    alpha = rgba[..., 3:] / 255.0
    ys, xs = np.nonzero(alpha[..., 0] > 0)  # crop the transparent margin the rotation added
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgb, alpha = rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    ys, xs = np.nonzero(alpha[..., 0] > 0.5)  # the box: pixels at least half covered
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 1, 1)
    return Sprite(np.ascontiguousarray(np.clip(rgb, 0, 255)), np.ascontiguousarray(alpha), bbox)
