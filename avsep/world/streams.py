"""One random stream per realism effect, derived from the clip's seed (and the object's place in the scene).

The scene and today's effects draw from ``default_rng(clip seed)`` in a fixed order; an effect added later
must not draw from it, or turning the effect on would move every draw after it (other objects, the layout)
and turning it off would no longer give today's bytes. Each effect therefore has its own generator
``default_rng([clip seed, effect id, *index])``: independent of the scene's and of the other effects'.
"""

from __future__ import annotations

import numpy as np

# Effect ids: fixed forever (changing one changes what that effect draws for every clip).
PROGRAM = 1
VIBRATO = 2
REGISTER = 3
VELOCITY = 4
ROOM = 5
NOISE = 6
OFFSCREEN = 7
SILENT_MOTION = 8
SWAY = 9
BOW = 10
CAMERA = 11

OFFSCREEN_INDEX = 100  # object index of the off-screen instrument in per-object streams (visible ones are 0..3)


def stream(seed: int, effect: int, *index: int) -> np.random.Generator:
    """The generator of ``effect`` for the clip seeded ``seed`` (and the object ``index``, when per object)."""
    return np.random.default_rng([seed, effect, *index])
