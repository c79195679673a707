"""Parameters of CAVL (Hu et al., heterogeneous scene analysis), ``avsep.models.cavl``, and its curriculum
experiments (``avsep experiment ...``)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import ByProfile, Section
from avsep.config.dmc import PerProfile
from avsep.config.inputs import InputParams, inputs

Heatmap = Literal["assignment", "agreement", "weighted"]


class StageEpochs(Section):
    """Passes over each curriculum's shard set (every 1-s window of its clips), C1 → C2 → C3 → C4."""

    C1: PerProfile = Field(PerProfile(paper=20, demo=3), description="epochs of curriculum C1 (one source)")
    C2: PerProfile = Field(PerProfile(paper=10, demo=4), description="epochs of curriculum C2 (two sources)")
    C3: PerProfile = Field(PerProfile(paper=5, demo=6), description="epochs of curriculum C3 (three sources)")
    C4: PerProfile = Field(PerProfile(paper=5, demo=6), description="epochs of curriculum C4 (four sources)")


class ExperimentParams(Section):
    seeds: list[int] = Field([0, 1, 2], description="one run per seed; reports mean and spread")
    steps: int = Field(24, ge=1, description="optimizer steps per curriculum stage of an experiment run")
    batch_size: int = Field(16, ge=2, description="small batches: the experiments train many short runs")
    image_size: int = Field(64, ge=32, description="frames resized to this side (experiments only)")
    probe_split: str = Field("test", description="held-out split of the linear probe (trained on train)")
    out_dir: str = Field("reports/experiments", description="one JSON per experiment")


class CAVLParams(Section):
    curricula: list[str] = Field(
        ["C1", "C2", "C3", "C4"],
        description="stages in order, each continuing the previous model; k = sources of the stage",
    )
    iterations: int = Field(4, ge=1, description="soft k-means iterations (assignment / centre updates)")
    z: float = Field(30.0, gt=0, description="magnitude of the soft k-means assignment softmax(-z*d)")
    background_clusters: int = Field(
        1,
        ge=0,
        description="visual centres beyond k for the non-sounding rest of the frame (docs/models/cavl.md)",
    )
    alignment: Literal["structural", "scene"] = Field(
        "structural",
        description="structural (sound-object pairs) | scene (pooled features; the Table 1 ablation)",
    )
    margin: float = Field(1.0, gt=0, description="contrastive margin on the cosine distance 1 - s in [0, 2]")
    lr: PerProfile = Field(PerProfile(paper=1e-4, demo=1e-3), description="Adam learning rate per profile")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay")
    backbone_lr_ratio: PerProfile = Field(
        PerProfile(paper=1.0, demo=1.0),
        description=(
            "the two ResNet-18s at lr x this, the rest at lr; 1 = one rate (the paper); the demo's 0.1 "
            "keeps the pre-trained feature strength (docs/models/cavl.md)"
        ),
    )
    normalize: Literal["unit", "frame"] = Field(
        "unit",
        description=(
            "features clustered: unit (L2-normalised per position, the paper) | frame (divided by the "
            "frame's mean per-position norm: scale-free like unit, so z keeps its meaning, but keeps each "
            "position's strength)"
        ),
    )
    heatmap: ByProfile[Heatmap] = Field(
        ByProfile[Heatmap](paper="assignment", demo="weighted"),
        description=(
            "single-source map of the aligned visual centre: assignment (its soft assignment, the paper) | "
            "agreement (-d to the centre, min-max scaled per frame: the assignment's ranking before the "
            "softmax saturates it) | weighted (agreement x min-max scaled per-position norm of the visual "
            "features before normalisation; the demo's choice, docs/models/cavl.md)"
        ),
    )
    inputs: InputParams = Field(
        inputs(),
        description=(
            "what training is fed, per profile (avsep.config.inputs); the paper states none of it: "
            "both profiles keep the demo's inputs"
        ),
    )
    epochs: StageEpochs = Field(
        StageEpochs(),
        description="passes over each curriculum's windows, per profile (demo: at most 20 steps an epoch)",
    )
    experiments: ExperimentParams = Field(
        ExperimentParams(),
        description="avsep experiment curriculum-effect|curriculum-order|localization|probe",
    )
