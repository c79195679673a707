"""The 11 MUSIC instrument classes: General MIDI program, playable pitch range and appearance.

Names and order are MUSIC's (sorted; class index = position). Programs are 0-based GM numbers as
``tinysoundfont`` takes them; erhu has no GM program, so it plays the Fiddle (110), the closest bowed
two-string timbre. Pitch ranges are MIDI keys inside the instrument's real range.
"""

from __future__ import annotations

from dataclasses import dataclass

from avsep.config.world import MUSIC_CLASSES


@dataclass(frozen=True)
class InstrumentClass:
    """One instrument: how it sounds and how it looks.

    ``aspect`` is height / width of its unrotated sprite; ``palette`` maps a role (``body``, ``dark``,
    ``accent``, ``light``) to an RGB colour; ``texture`` names the surface modulation in
    :mod:`avsep.world.sprites`.
    """

    name: str
    program: int
    pitch_range: tuple[int, int]
    aspect: float
    palette: dict[str, tuple[int, int, int]]
    texture: str


CLASSES: dict[str, InstrumentClass] = {
    c.name: c
    for c in (
        InstrumentClass(
            "accordion",
            21,
            (53, 81),
            1.0,
            {"body": (200, 30, 45), "dark": (25, 20, 25), "accent": (235, 235, 225), "light": (250, 200, 60)},
            "plain",
        ),
        InstrumentClass(
            "acoustic_guitar",
            24,
            (40, 76),
            2.6,
            {"body": (225, 170, 100), "dark": (60, 35, 20), "accent": (120, 70, 35), "light": (245, 225, 190)},
            "wood",
        ),
        InstrumentClass(
            "cello",
            42,
            (36, 69),
            2.6,
            {"body": (120, 50, 22), "dark": (20, 15, 12), "accent": (205, 190, 150), "light": (160, 90, 50)},
            "wood",
        ),
        InstrumentClass(
            "clarinet",
            71,
            (52, 84),
            6.0,
            {"body": (28, 28, 34), "dark": (10, 10, 12), "accent": (205, 210, 220), "light": (70, 70, 80)},
            "plain",
        ),
        InstrumentClass(
            "erhu",
            110,
            (62, 88),
            4.0,
            {"body": (85, 45, 25), "dark": (35, 20, 15), "accent": (225, 215, 185), "light": (150, 160, 150)},
            "wood",
        ),
        InstrumentClass(
            "flute",
            73,
            (60, 91),
            0.14,
            {"body": (200, 205, 215), "dark": (110, 115, 125), "accent": (245, 245, 250), "light": (230, 232, 238)},
            "metal",
        ),
        InstrumentClass(
            "saxophone",
            65,
            (51, 80),
            2.4,
            {"body": (225, 170, 40), "dark": (130, 90, 20), "accent": (250, 225, 150), "light": (245, 210, 100)},
            "metal",
        ),
        InstrumentClass(
            "trumpet",
            56,
            (55, 80),
            0.45,
            {"body": (245, 205, 90), "dark": (150, 110, 35), "accent": (230, 230, 235), "light": (255, 235, 160)},
            "metal",
        ),
        InstrumentClass(
            "tuba",
            58,
            (29, 55),
            1.25,
            {"body": (180, 130, 55), "dark": (95, 65, 25), "accent": (215, 215, 220), "light": (225, 180, 100)},
            "metal",
        ),
        InstrumentClass(
            "violin",
            40,
            (55, 91),
            2.3,
            {"body": (215, 105, 30), "dark": (30, 20, 15), "accent": (240, 220, 170), "light": (240, 150, 70)},
            "wood",
        ),
        InstrumentClass(
            "xylophone",
            13,
            (65, 96),
            0.5,
            {"body": (70, 45, 30), "dark": (35, 25, 20), "accent": (200, 60, 60), "light": (60, 120, 200)},
            "plain",
        ),
    )
}

assert tuple(sorted(CLASSES)) == MUSIC_CLASSES, "classes.py and avsep.config.world disagree"

# Other General MIDI programs of each instrument's family (0-based), for ``world.effects.*.alt_program_prob``:
# a real class sounds different from player to player and recording to recording. Bowed strings lend each other
# their neighbours (viola, fiddle, string ensemble), as real violins, erhus and cellos are confused.
ALT_PROGRAMS: dict[str, tuple[int, ...]] = {
    "accordion": (23, 20, 22),  # tango accordion, reed organ, harmonica
    "acoustic_guitar": (25, 26),  # steel string, jazz guitar
    "cello": (41, 43, 48),  # viola, contrabass, string ensemble
    "clarinet": (68, 69, 70),  # oboe, English horn, bassoon
    "erhu": (40, 41, 45),  # violin, viola, pizzicato strings
    "flute": (72, 74, 75),  # piccolo, recorder, pan flute
    "saxophone": (64, 66, 67),  # soprano, tenor, baritone sax
    "trumpet": (59, 60, 61),  # muted trumpet, French horn, brass section
    "tuba": (57, 60, 70),  # trombone, French horn, bassoon
    "violin": (110, 48, 49),  # fiddle, string ensemble 1 and 2
    "xylophone": (12, 11, 9),  # marimba, vibraphone, glockenspiel
}
assert set(ALT_PROGRAMS) == set(CLASSES)


def class_index(name: str) -> int:
    """MUSIC's class index (position in the sorted names); raises ``KeyError`` naming an unknown class."""
    try:
        return MUSIC_CLASSES.index(name)
    except ValueError:
        raise KeyError(f"unknown instrument class {name!r}; known: {', '.join(MUSIC_CLASSES)}") from None
