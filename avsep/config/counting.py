"""Parameters of the audiovisual counter (CAVL's Poisson regression), ``avsep.models.counting``."""

from typing import Literal

from pydantic import Field, model_validator

from avsep.config.base import Section
from avsep.config.dmc import PerProfile

class CountingAugment(Section):
    """Training-time augmentation of the counter's inputs (docs/models/cavl.md, "The counter")."""

    # Share of each training batch replaced by mosaics: 1-4 other clips of the batch, each clip's motion map
    # shrunk into a cell of a 2x2 grid and its audio added; the target is the sum of their counts.
    mosaic: float = Field(0.5, ge=0, le=1)
    mosaic_scale: tuple[float, float] = (0.4, 0.55)  # side of a placed clip, fraction of the frame side
    max_mosaic_count: int = Field(6, ge=1)  # a clip that would push a mosaic's count past this is left out
    # counting.memory: mosaic cells are drawn from this many clips taken at random from the whole training set
    # with each batch (so mostly solos, as the set is); 0 (or streaming): from the batch's own clips.
    pool: int = Field(32, ge=0)
    gain_db: float = Field(3.0, ge=0)  # each mosaic clip's audio gain is uniform in +-gain_db
    zoom_min: float = Field(0.6, gt=0, le=1)  # the other samples: half shrunk by U(zoom_min, 1), placed anywhere
    flip: bool = True  # mirror motion maps left-right half of the time

    @model_validator(mode="after")
    def _scale_in_range(self):
        low, high = self.mosaic_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"mosaic_scale = {list(self.mosaic_scale)}: need 0 < low <= high <= 1")
        return self


class CountingParams(Section):
    shard_set: str = "clips"  # evaluated on (and predictions written for) every clip of this set
    # Trained on these sets, a share of each in every batch: C1..C4 balances the counts (2/3 of the world's
    # clips are solos, and a counter trained on them all says "one" to everything); [clips] trains on all.
    train_sets: list[str] = Field(default_factory=lambda: ["C1", "C2", "C3", "C4"], min_length=1)
    window_s: float = Field(6.0, gt=0)  # audio seen per sample: the world's whole clip (AudioSet: 10 s)
    # motion: a CNN on the clip's motion map (per-pixel std over the window's frames); audio: the audio ResNet-18
    # on the window's log-mel. Their pooled features are the Poisson regression's inputs.
    streams: list[Literal["motion", "audio"]] = Field(default_factory=lambda: ["motion"], min_length=1)
    # Independent counters trained side by side on the same batches; the prediction averages their log-rates.
    members: int = Field(3, ge=1)
    augment: CountingAugment = CountingAugment()
    # Training reads every clip of train_sets once and draws batches from memory (the demo's 339 clips: 22 MB of
    # motion maps); false streams them from the shards every epoch (sets too large to hold).
    memory: bool = True
    # Streaming (memory: false): samples each training view holds for shuffling (shards.shuffle_buffer for the
    # counter's views): C3 and C4 hold 16 training clips each, and a view re-fills its buffer whenever it starts over.
    shuffle_buffer: int = Field(50, ge=0)
    decision: Literal["round", "mode"] = "round"  # count = round(λ), or the Poisson mode floor(λ)
    max_count: int = Field(8, ge=1)  # predictions are clipped to [0, max_count]
    lr: PerProfile = PerProfile(paper=1e-4, demo=2e-3)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_frac: float = Field(0.15, ge=0, lt=1)  # linear warm-up over this share of the steps, then cosine to 0
    epochs: PerProfile = PerProfile(paper=100, demo=150)
    predictions: str = "data/counting/predictions.csv"  # clip_id,n_sources (dataset.predictions reads it)

    @model_validator(mode="after")
    def _distinct_streams(self):
        if len(set(self.streams)) != len(self.streams):
            raise ValueError(f"counting.streams = {self.streams}: each stream at most once")
        return self
