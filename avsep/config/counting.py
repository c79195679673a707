"""Parameters of the audiovisual counter (CAVL's Poisson regression), ``avsep.models.counting``."""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from avsep.config.base import ByProfile, Section
from avsep.config.dmc import PerProfile

Stream = Literal["motion", "audio", "visual"]


class CountingAugment(Section):
    """Training-time augmentation of the counter's inputs (docs/models/cavl.md, "The counter")."""

    apply: ByProfile[bool] = Field(
        ByProfile[bool](paper=False, demo=True),
        description="augment the training batches at all, per profile (the paper describes no augmentation)",
    )
    mosaic: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "share of each training batch replaced by mosaics: 1-4 other clips of the batch, each clip's "
            "motion map shrunk into a cell of a 2x2 grid and its audio added; the target is the sum of "
            "their counts"
        ),
    )
    mosaic_scale: tuple[float, float] = Field(
        (0.4, 0.55),
        description="side of a clip placed in a mosaic, fraction of the frame side",
    )
    max_mosaic_count: int = Field(6, ge=1, description="clips that would take a mosaic past this count are left out")
    pool: int = Field(
        32,
        ge=0,
        description=(
            "memory: true: mosaic cells are drawn from this many clips taken at random from the whole "
            "training set with each batch (so mostly solos, as the set is); 0 (or streaming): from the "
            "batch's own clips"
        ),
    )
    gain_db: float = Field(3.0, ge=0, description="each mosaic clip's audio gain is uniform in +-gain_db")
    zoom_min: float = Field(
        0.6,
        gt=0,
        le=1,
        description="the other samples: half of them shrunk by U(zoom_min, 1) and placed anywhere",
    )
    flip: bool = Field(True, description="mirror the motion map half of the time")

    @model_validator(mode="after")
    def _scale_in_range(self):
        low, high = self.mosaic_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"mosaic_scale = {list(self.mosaic_scale)}: need 0 < low <= high <= 1")
        return self


class CountingParams(Section):
    shard_set: str = Field("clips", description="evaluated on, and predictions written for, every clip of this set")
    train_sets: list[str] = Field(
        default_factory=lambda: ["C1", "C2", "C3", "C4"],
        min_length=1,
        description=(
            "trained on these sets, a share of each in every batch: C1..C4 balances the counts (most of the "
            "world's clips are solos, and a counter trained on them all says one to everything); [clips] "
            "trains on all"
        ),
    )
    window_s: float = Field(6.0, gt=0, description="seconds per sample: the world's whole clip (AudioSet: 10)")
    streams: ByProfile[list[Stream]] = Field(
        ByProfile[list[Stream]](paper=["visual", "audio"], demo=["motion"]),
        description=(
            "the counter's inputs per profile, their pooled features the Poisson regression's inputs: visual: a "
            "vision ResNet-18 on the window's frame | audio: the audio ResNet-18 on the window's log-mel | "
            "motion: a CNN on the clip's motion map (per-pixel grey-level std over the window's frames, a cue "
            "the built-in world plants). paper: [visual, audio], CAVL's audiovisual counter; demo: [motion] "
            "([motion, audio] is too slow for the demo's time budget, docs/models/cavl.md)"
        ),
    )
    members: ByProfile[int] = Field(
        ByProfile[int](paper=1, demo=3),
        description=(
            "independent counters trained side by side on the same batches, per profile; the prediction averages "
            "their log-rates (paper: the one Poisson regression of CAVL)"
        ),
    )
    motion_size: ByProfile[int | None] = Field(
        ByProfile[int | None](paper=None, demo=None),
        description=(
            "side of the motion map the motion CNN reads, per profile (the maps are area-resized to it before "
            "augmentation); null: the profile's image_size. Half the side is a quarter of the CNN's work"
        ),
    )
    augment: CountingAugment = Field(
        CountingAugment(),
        description='training only (docs/models/cavl.md, "The counter")',
    )
    memory: bool = Field(
        True,
        description=(
            "training reads every clip of train_sets once and draws batches from memory (the demo's motion "
            "maps: about 22 MB); false streams them from the shards every epoch (sets too large to hold)"
        ),
    )
    shuffle_buffer: int = Field(
        50,
        ge=0,
        description=(
            "memory: false: samples each training view holds for shuffling (shards.shuffle_buffer for the "
            "counter's views); small, as C3 and C4 hold few train clips and a view re-fills its buffer "
            "whenever it starts over"
        ),
    )
    decision: Literal["round", "mode"] = Field(
        "round",
        description="count = round(rate) | mode: the Poisson mode floor(rate)",
    )
    max_count: int = Field(8, ge=1, description="predictions clipped to [0, max_count]")
    lr: PerProfile = Field(PerProfile(paper=1e-4, demo=2e-3), description="Adam learning rate per profile")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay")
    warmup_frac: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="linear warm-up over this share of the steps, then cosine decay to 0",
    )
    epochs: PerProfile = Field(
        PerProfile(paper=100, demo=150),
        description=(
            "passes over the training sets per profile (demo: 3,000 steps of 16 with 3 members; docs/models/cavl.md)"
        ),
    )
    predictions: str = Field(
        "data/counting/predictions.csv",
        description="clip_id,n_sources; point dataset.predictions here",
    )

    @field_validator("members")
    @classmethod
    def _a_counter_at_least(cls, members: ByProfile[int]) -> ByProfile[int]:
        for profile in ("paper", "demo"):
            if members.get(profile) < 1:
                raise ValueError(f"counting.members.{profile} = {members.get(profile)}: need at least 1")
        return members

    @model_validator(mode="after")
    def _distinct_streams(self):
        for profile in ("paper", "demo"):
            streams = self.streams.get(profile)
            if not streams:
                raise ValueError(f"counting.streams.{profile} is empty: the counter needs at least one stream")
            if len(set(streams)) != len(streams):
                raise ValueError(f"counting.streams.{profile} = {streams}: each stream at most once")
        return self
