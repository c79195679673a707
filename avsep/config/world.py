"""Parameters of ``avsep.world``: the procedural audiovisual world (sizes, counts, difficulty knobs).

Every check that can fail on bad parameters happens here, so ``avsep world`` refuses them before it writes
anything: a negative count (pydantic ``ge=0``), an unknown class, a frame too small for four objects.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from avsep.config.base import Section

# The 11 MUSIC instruments, with MUSIC's names, sorted (class index = position, as MUSIC does).
MUSIC_CLASSES: tuple[str, ...] = (
    "accordion", "acoustic_guitar", "cello", "clarinet", "erhu", "flute",
    "saxophone", "trumpet", "tuba", "violin", "xylophone",
)
MAX_VISIBLE = 4  # k-source scenes go up to four visible objects (curricula C1..C4)


class SceneCounts(Section):
    """Clips per scene type in one split; solo clips cycle through the classes so they stay balanced."""

    solo: int = Field(0, ge=0)
    duet: int = Field(0, ge=0)
    k1: int = Field(0, ge=0)
    k2: int = Field(0, ge=0)
    k3: int = Field(0, ge=0)
    k4: int = Field(0, ge=0)

    def total(self) -> int:
        return self.solo + self.duet + self.k1 + self.k2 + self.k3 + self.k4


class SplitCounts(Section):
    train: SceneCounts = SceneCounts()
    val: SceneCounts = SceneCounts()
    test: SceneCounts = SceneCounts()


def _demo_counts() -> SplitCounts:
    return SplitCounts(
        train=SceneCounts(solo=220, duet=55, k1=16, k2=16, k3=16, k4=16),
        val=SceneCounts(solo=22, duet=11, k1=5, k2=5, k3=5, k4=5),
        test=SceneCounts(solo=66, duet=33, k1=10, k2=10, k3=10, k4=10),  # 3x val: 11 duets could not order methods
    )


def _paper_counts() -> SplitCounts:
    return SplitCounts(
        train=SceneCounts(solo=1100, duet=330, k1=200, k2=200, k3=200, k4=200),
        val=SceneCounts(solo=110, duet=44, k1=20, k2=20, k3=20, k4=20),
        test=SceneCounts(solo=110, duet=44, k1=20, k2=20, k3=20, k4=20),
    )


class CountTables(Section):
    """A small world for a demo on a laptop and a larger one closer to the papers' MUSIC sizes."""

    demo: SplitCounts = Field(default_factory=_demo_counts)
    paper: SplitCounts = Field(default_factory=_paper_counts)


class WorldParams(Section):
    seed: int = Field(0, ge=0)
    size_preset: Literal["demo", "paper"] = "demo"  # which count table is rendered
    counts: CountTables = CountTables()
    classes: list[str] = Field(default_factory=lambda: list(MUSIC_CLASSES))
    fps: float = Field(24.0, gt=0)
    duration_s: float = Field(6.0, gt=0)
    sample_rate: int = Field(44100, ge=8000)
    workers: int = Field(2, ge=0)  # processes rendering clips; 0 = one per CPU core
    # Geometry: an object's height is this fraction of its layout cell (2x2 cells for 3-4 objects).
    object_scale: tuple[float, float] = (0.6, 0.95)
    min_object_px: int = Field(12, ge=4)  # smallest object the frame must fit four times
    # Declared after the geometry so that their check can use it.
    width: int = Field(256, ge=8)
    height: int = Field(256, ge=8)
    aspect_jitter: float = Field(0.15, ge=0, lt=1)  # relative width change
    rotation_deg: float = Field(15.0, ge=0, le=90)
    colour_jitter: float = Field(0.08, ge=0, le=0.5)  # hue/value jitter in HSV units
    # Difficulty knobs.
    clutter: tuple[int, int] = (2, 6)  # non-instrument objects behind the instruments
    occlusion_prob: float = Field(0.25, ge=0, le=1)  # chance an object is partly covered by clutter
    video_noise: float = Field(4.0, ge=0)  # std of pixel noise, 0..255 scale
    audio_noise_db: float = Field(-40.0, le=0)  # background noise level relative to full scale
    loudness_dbfs: float = Field(-20.0, le=0)  # RMS of each source before mixing (+-3 dB per object)
    timbre_variation: float = Field(0.5, ge=0, le=1)  # random brightness (tilt) and detune per object
    silent_prob: float = Field(0.3, ge=0, le=1)  # solo/duet scenes: chance of one extra silent object
    # Music.
    tempo_bpm: tuple[float, float] = (70.0, 150.0)
    rest_prob: float = Field(0.2, ge=0, lt=1)
    interval_merge_s: float = Field(0.25, ge=0)  # gaps shorter than this inside a phrase still count as sounding
    velocity: tuple[int, int] = (50, 120)
    # Motion: a sounding object jumps at each note onset and settles with this time constant.
    onset_jump_px: float = Field(0.04, ge=0)  # fraction of the object height
    onset_decay_s: float = Field(0.12, gt=0)

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
                f"(object_scale {scale[0]}) {smallest} px < min_object_px={min_px}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "WorldParams":
        if not 0 < self.object_scale[0] or self.object_scale[1] > 1:
            raise ValueError(f"object_scale {list(self.object_scale)}: need 0 < low <= high <= 1")
        if self.velocity[1] > 127:
            raise ValueError(f"velocity {list(self.velocity)}: MIDI velocity is at most 127")
        if self.n_frames() < 1:
            raise ValueError(f"duration_s={self.duration_s} at fps={self.fps} gives no frame")
        return self

    def split_counts(self) -> SplitCounts:
        """The count table selected by ``size_preset``."""
        return getattr(self.counts, self.size_preset)

    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))

    def n_samples(self) -> int:
        return int(round(self.duration_s * self.sample_rate))
