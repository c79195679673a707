"""The one schema of params.yaml: a section per concern, each in its own module."""

from pydantic import Field

from avsep.config.base import Section
from avsep.config.features import FeatureParams
from avsep.config.media import MediaParams


class Params(Section):
    seed: int = Field(0, ge=0)
    media: MediaParams = MediaParams()
    features: FeatureParams = FeatureParams()
