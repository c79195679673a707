"""The one schema of params.yaml: a section per concern, each in its own module."""

from typing import Literal

from pydantic import Field

from avsep.config.backbones import BackbonesParams
from avsep.config.base import Section
from avsep.config.baselines import BaselinesParams
from avsep.config.build import BuildParams
from avsep.config.cavl import CAVLParams
from avsep.config.counting import CountingParams
from avsep.config.dataset import DatasetParams
from avsep.config.diagnose import DiagnoseParams
from avsep.config.dmc import DMCParams
from avsep.config.dsol import DsolParams
from avsep.config.evaluate import EvaluateParams
from avsep.config.features import FeatureParams
from avsep.config.media import MediaParams
from avsep.config.mssl import MsslParams
from avsep.config.pretrain import PretrainParams
from avsep.config.profile import Profiles, ProfileSettings
from avsep.config.report import ReportParams
from avsep.config.separation import SeparationParams
from avsep.config.shards import ShardParams
from avsep.config.train import TrainParams
from avsep.config.world import WorldParams


class Params(Section):
    """Every knob that changes a result. Read through avsep.config (one schema, validated); override any key on
    the command line with --set a.b=value."""

    seed: int = Field(
        0,
        ge=0,
        description=(
            "random seed of the dataset build (mixtures), training and evaluation; the world has its own, world.seed"
        ),
    )
    profile: Literal["demo", "paper"] = Field(
        "demo",
        description=(
            "demo (CPU, minutes) | paper (the papers' backbones and sizes, for GPU): selects "
            "profiles.<name> and every method's per-profile values"
        ),
    )
    profiles: Profiles = Field(
        Profiles(),
        description=(
            "what each profile sets for every method: backbone width, image size, stored frame size, batch size, epoch "
            "scale, step cap"
        ),
    )
    media: MediaParams = Field(
        MediaParams(),
        description="decoding limits and behaviour (avsep.media), and the encoder of rendered videos",
    )
    features: FeatureParams = Field(
        FeatureParams(),
        description="the audio front end (avsep.features): a named preset, or custom from the keys below",
    )
    train: TrainParams = Field(
        TrainParams(),
        description=(
            "the one trainer (avsep.train): device, precision, checkpoint and logging cadence, default "
            "optimizer and schedule"
        ),
    )
    evaluate: EvaluateParams = Field(
        EvaluateParams(),
        description="which protocols avsep evaluate reports, and the knobs the papers left open",
    )
    world: WorldParams = Field(WorldParams(), description="the built-in procedural audiovisual world (avsep world)")
    dataset: DatasetParams = Field(
        DatasetParams(),
        description="which dataset source is read and how it is fetched (avsep.sources, avsep.download)",
    )
    shards: ShardParams = Field(
        ShardParams(),
        description="writing shard sets and reading them into model-ready batches (avsep.shards)",
    )
    build: BuildParams = Field(
        BuildParams(),
        description="the dataset build (avsep build, the build-dataset Prefect flow)",
    )
    report: ReportParams = Field(
        ReportParams(),
        description="avsep report -> reports/index.html + reports/README.md (docs/report.md)",
    )
    diagnose: DiagnoseParams = Field(
        DiagnoseParams(),
        description="avsep diagnose MODEL: overfit, probe, audio-swap and guidance-swap checks (docs/models/README.md)",
    )
    dmc: DMCParams = Field(DMCParams(), description="DMC (Hu et al., CVPR 2019), avsep.models.dmc; docs/models/dmc.md")
    cavl: CAVLParams = Field(
        CAVLParams(),
        description="CAVL (Hu et al., heterogeneous scene analysis), avsep.models.cavl; docs/models/cavl.md",
    )
    counting: CountingParams = Field(
        CountingParams(),
        description="audiovisual source counter (CAVL's Poisson regression), avsep.models.counting",
    )
    baselines: BaselinesParams = Field(
        BaselinesParams(),
        description="avsep.models.baselines: the maps every model is shown beside (docs/evaluation.md)",
    )
    dsol: DsolParams = Field(
        DsolParams(),
        description="DSOL (Hu et al. 2020): two-stage class-aware localization (docs/models/dsol.md)",
    )
    mssl: MsslParams = Field(
        MsslParams(),
        description=(
            "MSSL (Qian et al. 2020): classification + correspondence, then class-aware alignment (docs/models/mssl.md)"
        ),
    )
    separation: SeparationParams = Field(
        SeparationParams(),
        description="visually guided separation (Sound of Pixels + MSSL/CAVL guidance; docs/models/separation.md)",
    )
    pretrain: PretrainParams = Field(
        PretrainParams(),
        description=(
            "backbones the methods start from: the world's stand-in for ImageNet/AudioSet weights "
            "(docs/models/pretrain.md)"
        ),
    )
    backbones: BackbonesParams = Field(
        BackbonesParams(),
        description=(
            "local torchvision ResNet-18 weights (e.g. ImageNet's) the methods' backbones start from; null: none "
            "(docs/models/pretrain.md)"
        ),
    )

    def active_profile(self) -> ProfileSettings:
        """The settings of the selected profile (``profile: demo`` or ``paper``)."""
        return getattr(self.profiles, self.profile)


def frame_size(params: Params) -> int:
    """Side of the stored frames: ``build.frame_size``, or the active profile's ``frame_size`` when that is null.

    A function of the keys it reads (not a method), so that a build's input hash sees exactly those reads.
    """
    return params.build.frame_size or getattr(params.profiles, params.profile).frame_size
