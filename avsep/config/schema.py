"""The one schema of params.yaml: a section per concern, each in its own module."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section
from avsep.config.baselines import BaselinesParams
from avsep.config.cavl import CAVLParams
from avsep.config.counting import CountingParams
from avsep.config.dmc import DMCParams
from avsep.config.dsol import DsolParams
from avsep.config.mssl import MsslParams
from avsep.config.build import BuildParams
from avsep.config.dataset import DatasetParams
from avsep.config.evaluate import EvaluateParams
from avsep.config.features import FeatureParams
from avsep.config.media import MediaParams
from avsep.config.pretrain import PretrainParams
from avsep.config.profile import Profiles, ProfileSettings
from avsep.config.report import ReportParams
from avsep.config.separation import SeparationParams
from avsep.config.shards import ShardParams
from avsep.config.train import TrainParams
from avsep.config.world import WorldParams


class Params(Section):
    seed: int = Field(0, ge=0)
    profile: Literal["demo", "paper"] = "demo"  # one key: CPU demo or the papers' settings (GPU)
    profiles: Profiles = Profiles()
    media: MediaParams = MediaParams()
    features: FeatureParams = FeatureParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    world: WorldParams = WorldParams()
    dataset: DatasetParams = DatasetParams()
    shards: ShardParams = ShardParams()
    build: BuildParams = BuildParams()
    report: ReportParams = ReportParams()
    dmc: DMCParams = DMCParams()
    cavl: CAVLParams = CAVLParams()
    counting: CountingParams = CountingParams()
    baselines: BaselinesParams = BaselinesParams()
    dsol: DsolParams = DsolParams()
    mssl: MsslParams = MsslParams()
    separation: SeparationParams = SeparationParams()
    pretrain: PretrainParams = PretrainParams()

    def active_profile(self) -> ProfileSettings:
        """The settings of the selected profile (``profile: demo`` or ``paper``)."""
        return getattr(self.profiles, self.profile)
