"""Parameters of ``avsep.world``: the procedural audiovisual world (sizes, counts, difficulty knobs).

Every check that can fail on bad parameters happens here, so ``avsep world`` refuses them before it writes
anything: a negative count (pydantic ``ge=0``), an unknown class, a frame too small for four objects.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from avsep.config.base import Section
from avsep.config.vocabularies import MUSIC11

# The 11 MUSIC instruments, with MUSIC's names, sorted (class index = position, as MUSIC does).
MUSIC_CLASSES: tuple[str, ...] = MUSIC11.classes
MAX_VISIBLE = 4  # k-source scenes go up to four visible objects (curricula C1..C4)


class SceneCounts(Section):
    """Clips per scene type in one split; solo clips cycle through the classes so they stay balanced."""

    yaml_inline = True

    solo: int = Field(0, ge=0, description="one sounding instrument")
    duet: int = Field(0, ge=0, description="two sounding instruments")
    k1: int = Field(0, ge=0, description="k-source scene with one sounding object (curriculum C1)")
    k2: int = Field(0, ge=0, description="k-source scene with two sounding objects (C2)")
    k3: int = Field(0, ge=0, description="k-source scene with three sounding objects (C3)")
    k4: int = Field(0, ge=0, description="k-source scene with four sounding objects (C4)")

    def total(self) -> int:
        return self.solo + self.duet + self.k1 + self.k2 + self.k3 + self.k4


class SplitCounts(Section):
    train: SceneCounts = Field(SceneCounts(), description="clips per scene type of the train split")
    val: SceneCounts = Field(SceneCounts(), description="clips per scene type of the val split")
    test: SceneCounts = Field(
        SceneCounts(),
        description=(
            "clips per scene type of the test split (the demo's is 3x val: 11 duets could not tell methods apart)"
        ),
    )


def _demo_counts() -> SplitCounts:
    return SplitCounts(
        train=SceneCounts(solo=220, duet=55, k1=16, k2=16, k3=16, k4=16),
        val=SceneCounts(solo=22, duet=11, k1=5, k2=5, k3=5, k4=5),
        test=SceneCounts(solo=66, duet=33, k1=10, k2=10, k3=10, k4=10),
    )


def _paper_counts() -> SplitCounts:
    return SplitCounts(
        train=SceneCounts(solo=1100, duet=330, k1=200, k2=200, k3=200, k4=200),
        val=SceneCounts(solo=110, duet=44, k1=20, k2=20, k3=20, k4=20),
        test=SceneCounts(solo=110, duet=44, k1=20, k2=20, k3=20, k4=20),
    )


class Realism(Section):
    """What makes real videos hard, rendered offline and deterministically. Every default is off: the world
    with these defaults is today's, byte for byte. Each effect draws from its own random stream, derived from
    the clip's seed and the effect (avsep.world.streams), so turning one on shifts neither the others nor the
    scene itself."""

    alt_program_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "timbre: chance an object plays another General MIDI program of its family instead of its class's "
            "own (violin: fiddle or string ensemble; avsep.world.classes.ALT_PROGRAMS)"
        ),
    )
    vibrato_cents: float = Field(
        0.0,
        ge=0,
        le=100,
        description="timbre: vibrato (pitch-bend LFO) depth; each object draws its own in [0, this] cents",
    )
    vibrato_hz: tuple[float, float] = Field((4.5, 6.5), description="timbre: vibrato rate range (min, max)")
    register_shift_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description="timbre: chance an object plays its melody an octave up or down (register)",
    )
    velocity_spread: float = Field(
        0.0,
        ge=0,
        le=40,
        description="timbre: std of an extra per-note MIDI velocity change (dynamics change the sampled timbre)",
    )
    reverb_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description="room: chance a clip is in a reverberant room (every source through its own impulse response)",
    )
    rt60_s: tuple[float, float] = Field(
        (0.3, 1.2),
        description="room: reverberation time (60 dB decay) range of the synthetic impulse responses (min, max)",
    )
    drr_db: tuple[float, float] = Field(
        (0.0, 10.0),
        description="room: direct-to-reverberant energy ratio range (min, max); lower = farther, wetter",
    )
    snr_db: tuple[float, float] | None = Field(
        None,
        description=(
            "background: noise at a signal-to-noise ratio drawn in this range (min, max; to the sum of the "
            "sources), replacing audio_noise_db; null = the fixed audio_noise_db"
        ),
    )
    noise_colour: Literal["white", "pink", "brown"] = Field(
        "pink",
        description="background: spectrum of the noise drawn at snr_db (pink: 1/f power, brown: 1/f^2)",
    )
    offscreen_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "chance a clip also holds a sounding instrument that is not drawn (off-screen; annotations list it "
            "under offscreen, never in objects, and n_sources counts visible sounding objects only)"
        ),
    )
    offscreen_db: tuple[float, float] = Field(
        (-10.0, 0.0),
        description="loudness of the off-screen instrument against the on-screen ones (dB range, min, max)",
    )
    silent_motion: bool = Field(
        False,
        description=(
            "silent players mime playing: they jump, rock and bow at the notes of a melody no one hears, drawn "
            "like a sounding player's, so motion alone does not tell who sounds"
        ),
    )
    sway_px: float = Field(
        0.0,
        ge=0,
        le=0.2,
        description="every player sways sideways by up to this fraction of its height (slow sine, own rate)",
    )
    bow_px: float = Field(
        0.0,
        ge=0,
        le=0.2,
        description=(
            "while a player plays (its notes, or a silent player's mimed ones) it bows or works the keys: an "
            "oscillation of this fraction of its height at 2-5 Hz"
        ),
    )
    camera_jitter_px: float = Field(
        0.0,
        ge=0,
        le=8,
        description="camera shake: std of a whole-frame translation drawn per frame (pixels)",
    )

    @field_validator("vibrato_hz", "rt60_s", "offscreen_db", "drr_db", "snr_db")
    @classmethod
    def _ordered(cls, value):
        if value is not None and not value[0] <= value[1]:
            raise ValueError(f"expected low <= high, got {list(value)}")
        return value

    @field_validator("vibrato_hz", "rt60_s")
    @classmethod
    def _positive(cls, value):
        if not value[0] > 0:
            raise ValueError(f"expected 0 < low <= high, got {list(value)}")
        return value

    def is_off(self) -> bool:
        """True when every effect is off (the world renders as it did before these effects existed)."""
        return self == Realism()

    def active(self) -> dict:
        """The knobs that differ from off, ``{name: value}`` (for the preview's labels and the fingerprint)."""
        off = Realism()
        return {name: value for name, value in self.model_dump().items() if value != getattr(off, name)}


def _hard() -> Realism:
    return Realism(
        alt_program_prob=0.5,
        vibrato_cents=30.0,
        register_shift_prob=0.3,
        velocity_spread=15.0,
        reverb_prob=0.9,
        rt60_s=(0.4, 1.5),
        drr_db=(-5.0, 5.0),
        snr_db=(0.0, 18.0),
        noise_colour="pink",
        offscreen_prob=0.6,
        offscreen_db=(-10.0, 0.0),
        silent_motion=True,
        sway_px=0.03,
        bow_px=0.02,
        camera_jitter_px=1.0,
    )


class RealismTables(Section):
    """The named realism presets: ``demo`` (every effect off: today's world) and ``hard`` (tuned, docs/world.md)."""

    demo: Realism = Field(Realism(), description="every effect off: the demo world as it has always been rendered")
    hard: Realism = Field(
        default_factory=_hard,
        description="hard where real videos are hard; measured in docs/world.md (NMF-MFCC SDR, motion-only count)",
    )


class CountTables(Section):
    """A small world for a demo on a laptop and a larger one closer to the papers' MUSIC sizes."""

    demo: SplitCounts = Field(default_factory=_demo_counts, description="a small world for the CPU demo")
    paper: SplitCounts = Field(
        default_factory=_paper_counts,
        description="a larger world, closer to the papers' MUSIC sizes",
    )


class WorldParams(Section):
    seed: int = Field(
        0,
        ge=0,
        description="world seed; every clip's seed derives from it, its split, scene type and index",
    )
    size_preset: Literal["demo", "paper"] = Field(
        "demo",
        description="which count table is rendered: demo (the CPU demo's world) | paper (closer to MUSIC's size)",
    )
    counts: CountTables = Field(
        CountTables(),
        description="clips per split and scene type; solo clips cycle through the classes",
    )
    classes: list[str] = Field(
        default_factory=lambda: list(MUSIC_CLASSES),
        description="instrument classes drawn (MUSIC's 11 names; at least four)",
    )
    fps: float = Field(24.0, gt=0, description="video frame rate")
    duration_s: float = Field(6.0, gt=0, description="clip length (separation trains on ~6 s windows)")
    sample_rate: int = Field(44100, ge=8000, description="audio rate of synthesis and of the mp4's AAC track")
    workers: int = Field(2, ge=0, description="render processes; 0 = one per CPU core")
    object_scale: tuple[float, float] = Field(
        (0.6, 0.95),
        description="object height as a fraction of its layout cell (2x2 cells for 3-4 objects): (min, max)",
    )
    min_object_px: int = Field(12, ge=4, description="smallest object; the frame must fit four of them")
    # Declared after the geometry so that their check can use it.
    width: int = Field(
        256,
        ge=8,
        description="frame width in pixels (even, for H.264 yuv420p); checked against object_scale and min_object_px",
    )
    height: int = Field(256, ge=8, description="frame height in pixels (even)")
    aspect_jitter: float = Field(0.15, ge=0, lt=1, description="relative change of an object's width/height ratio")
    rotation_deg: float = Field(15.0, ge=0, le=90, description="objects are rotated by up to this many degrees")
    colour_jitter: float = Field(
        0.08,
        ge=0,
        le=0.5,
        description="palette hue/saturation/value shift per object (HSV units)",
    )
    # Difficulty knobs.
    clutter: tuple[int, int] = Field(
        (2, 6),
        description="non-instrument things drawn behind the instruments (min, max)",
    )
    occlusion_prob: float = Field(
        0.25,
        ge=0,
        le=1,
        description="chance an instrument is partly hidden by a thing in front of it",
    )
    video_noise: float = Field(4.0, ge=0, description="std of pixel noise (0..255 scale)")
    audio_noise_db: float = Field(-40.0, le=0, description="background noise RMS relative to full scale")
    loudness_dbfs: float = Field(-20.0, le=0, description="RMS of each source before mixing (+-3 dB per object)")
    timbre_variation: float = Field(
        0.5,
        ge=0,
        le=1,
        description="0..1: per-object detune and brightness (spectral tilt)",
    )
    silent_prob: float = Field(
        0.3,
        ge=0,
        le=1,
        description="solo and duet scenes: chance of one extra silent, visible instrument",
    )
    # Music.
    tempo_bpm: tuple[float, float] = Field((70.0, 150.0), description="tempo range of the melodies")
    rest_prob: float = Field(0.2, ge=0, lt=1, description="chance a beat slot is a rest")
    interval_merge_s: float = Field(
        0.25,
        ge=0,
        description="gaps shorter than this inside a phrase still count as sounding",
    )
    velocity: tuple[int, int] = Field((50, 120), description="MIDI velocity range (dynamics)")
    onset_jump_px: float = Field(
        0.04,
        ge=0,
        description="a sounding object jumps by this fraction of its height at each note onset",
    )
    onset_decay_s: float = Field(0.12, gt=0, description="and settles back with this time constant")
    realism: Literal["demo", "hard"] = Field(
        "demo",
        description=(
            "which table of effects renders: demo (every effect off: today's world, byte for byte) | hard "
            "(timbres, room, noise at an SNR, off-screen sounds, miming silent players, camera shake)"
        ),
    )
    effects: RealismTables = Field(
        RealismTables(),
        description="the effects of each realism preset (docs/world.md: what each does and the hard preset's numbers)",
    )

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in MUSIC_CLASSES]
        if unknown:
            raise ValueError(f"unknown class {unknown[0]!r}; known: {', '.join(MUSIC_CLASSES)}")
        if len(set(value)) != len(value):
            raise ValueError("classes repeat")
        if len(value) < MAX_VISIBLE:
            raise ValueError(f"need at least {MAX_VISIBLE} classes for four-object scenes, got {len(value)}")
        return value

    @field_validator("object_scale", "tempo_bpm", "clutter", "velocity")
    @classmethod
    def _ordered_range(cls, value):
        low, high = value
        if not 0 <= low <= high:
            raise ValueError(f"expected 0 <= low <= high, got {list(value)}")
        return value

    @field_validator("width", "height")
    @classmethod
    def _fits_four_objects(cls, value: int, info: ValidationInfo) -> int:
        scale, min_px = info.data.get("object_scale"), info.data.get("min_object_px")
        if scale is None or min_px is None:
            return value  # their own errors are reported
        if value % 2:
            raise ValueError("must be even: H.264 yuv420p halves the chroma resolution")
        cell = value // 2
        smallest = int(cell * scale[0])
        if smallest < min_px:
            raise ValueError(
                f"too small for {MAX_VISIBLE} objects: a 2x2 layout cell is {cell} px, the smallest object "
                f"(object_scale {scale[0]}) {smallest} px < min_object_px={min_px}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WorldParams:
        if not self.object_scale[0] > 0 or self.object_scale[1] > 1:
            raise ValueError(f"object_scale {list(self.object_scale)}: need 0 < low <= high <= 1")
        if self.velocity[1] > 127:
            raise ValueError(f"velocity {list(self.velocity)}: MIDI velocity is at most 127")
        if self.n_frames() < 1:
            raise ValueError(f"duration_s={self.duration_s} at fps={self.fps} gives no frame")
        return self

    def effects_active(self) -> Realism:
        """The effects table selected by ``realism``."""
        return getattr(self.effects, self.realism)

    def split_counts(self) -> SplitCounts:
        """The count table selected by ``size_preset``."""
        return getattr(self.counts, self.size_preset)

    def n_frames(self) -> int:
        return round(self.duration_s * self.fps)

    def n_samples(self) -> int:
        return round(self.duration_s * self.sample_rate)
