"""Parameters of CAVL (Hu et al., heterogeneous scene analysis), ``avsep.models.cavl``, and its curriculum
experiments (``avsep experiment ...``)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section
from avsep.config.dmc import PerProfile


class StageEpochs(Section):
    """Passes over each curriculum's shard set (every 1-s window of its clips), C1 → C2 → C3 → C4."""

    C1: PerProfile = PerProfile(paper=20, demo=3)
    C2: PerProfile = PerProfile(paper=10, demo=4)
    C3: PerProfile = PerProfile(paper=5, demo=6)
    C4: PerProfile = PerProfile(paper=5, demo=6)


class ExperimentParams(Section):
    seeds: list[int] = [0, 1, 2]  # every experiment runs once per seed; reports mean ± spread
    steps: int = Field(24, ge=1)  # optimizer steps per curriculum stage of an experiment run
    batch_size: int = Field(16, ge=2)  # small batches: the experiments train many short runs
    image_size: int = Field(64, ge=32)  # frames resized to this side for the experiments
    probe_split: str = "test"  # the probe's held-out split (its training split is "train")
    out_dir: str = "reports/experiments"  # one JSON per experiment


class CAVLParams(Section):
    curricula: list[str] = ["C1", "C2", "C3", "C4"]  # stages in order; k = the curriculum's number of sources
    iterations: int = Field(4, ge=1)  # soft k-means iterations (assignment / centre updates)
    z: float = Field(30.0, gt=0)  # softmax(-z·d) magnitude of the soft k-means assignment
    background_clusters: int = Field(1, ge=0)  # visual centres beyond k (the non-sounding rest of the frame)
    alignment: Literal["structural", "scene"] = "structural"  # sound-object pairs, or pooled scene features
    margin: float = Field(1.0, gt=0)  # contrastive margin on the cosine distance 1 − s ∈ [0, 2]
    lr: PerProfile = PerProfile(paper=1e-4, demo=1e-3)
    weight_decay: float = Field(1e-4, ge=0)
    # The two ResNet-18s at lr x backbone_lr_ratio, the rest at lr; 1 = one rate (the paper). See dmc's.
    backbone_lr_ratio: PerProfile = PerProfile(paper=1.0, demo=1.0)
    # Features clustered: unit (L2-normalised per position, the paper) | frame (divided by the frame's mean
    # per-position norm: scale-free like unit, so z keeps its meaning, but keeps each position's strength).
    normalize: Literal["unit", "frame"] = "unit"
    # Single-source map of the matched visual centre: assignment (its soft assignment, the paper) | agreement
    # (−d to the centre, min-max scaled per frame: the assignment's ranking before the softmax saturates it) |
    # weighted (agreement × min-max scaled per-position norm of the visual features before normalisation).
    heatmap: Literal["assignment", "agreement", "weighted"] = "assignment"
    epochs: StageEpochs = StageEpochs()
    experiments: ExperimentParams = ExperimentParams()
