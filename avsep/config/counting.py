"""Parameters of the audiovisual counter (CAVL's Poisson regression), ``avsep.models.counting``."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section
from avsep.config.dmc import PerProfile


class CountingParams(Section):
    shard_set: str = "clips"  # evaluated on (and predictions written for) every clip of this set
    # Trained on these sets, a share of each in every batch: C1..C4 balances the counts (2/3 of the world's
    # clips are solos, and a counter trained on them all says "one" to everything); [clips] trains on all.
    train_sets: list[str] = Field(default_factory=lambda: ["C1", "C2", "C3", "C4"], min_length=1)
    window_s: float = Field(6.0, gt=0)  # audio seen per sample: the world's whole clip (AudioSet: 10 s)
    decision: Literal["round", "mode"] = "round"  # count = round(λ), or the Poisson mode floor(λ)
    max_count: int = Field(8, ge=1)  # predictions are clipped to [0, max_count]
    lr: PerProfile = PerProfile(paper=1e-4, demo=1e-3)
    weight_decay: float = Field(1e-4, ge=0)
    epochs: PerProfile = PerProfile(paper=30, demo=12)
    predictions: str = "data/counting/predictions.csv"  # clip_id,n_sources (dataset.predictions reads it)
