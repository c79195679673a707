"""Parameters of the ResNet-18s' start from local torchvision weights (``avsep.models.common.local_weights``).

The papers start their vision ResNet-18 from ImageNet (DSOL, MSSL, Sound of Pixels) and MSSL its audio network
from AudioSet. avsep never downloads weights; a researcher who has a torchvision ``resnet18`` state dict on disk
names it here. Null (the default) leaves every method as it is: from scratch, or from ``avsep train pretrain``
(``pretrain.methods``).
"""

from pydantic import Field, field_validator

from avsep.config.base import Section
from avsep.config.pretrain import known_resnet_methods

# The papers that start from ImageNet/AudioSet weights: DSOL, MSSL and Sound of Pixels (``separation``).
# DMC, CAVL, the counter and the correspondence baselines learn from scratch in their papers.
IMAGENET_METHODS = ("dsol", "mssl", "separation")


class BackbonesParams(Section):
    visual_weights: str | None = Field(
        None,
        description=(
            "a torchvision resnet18 state dict (torch.save(resnet18().state_dict(), path), or a checkpoint dict "
            "holding it under state_dict or model; fc is ignored) for the 3-channel ResNet-18s of the methods "
            "below; their frames are then normalised with ImageNet mean/std. Wins over pretrain.methods for that "
            "backbone. Relative to the working directory; read when training starts, never downloaded. null: "
            "unchanged"
        ),
    )
    audio_weights: str | None = Field(
        None,
        description=(
            "the same for the 1-channel (log-mel) ResNet-18s; a 3-channel conv1 is summed over its input "
            "channels. null: unchanged"
        ),
    )
    methods: list[str] = Field(
        list(IMAGENET_METHODS),
        description=(
            "methods whose ResNet-18s start from visual_weights / audio_weights when those are set: the papers "
            "that start from ImageNet (DSOL, MSSL, Sound of Pixels); add dmc for DMC's ImageNet variant"
        ),
    )

    @field_validator("methods")
    @classmethod
    def _known(cls, methods: list[str]) -> list[str]:
        return known_resnet_methods("backbones.methods", methods, "load weights into")

    @field_validator("visual_weights", "audio_weights")
    @classmethod
    def _not_blank(cls, path: str | None) -> str | None:
        if path is not None and not path.strip():
            raise ValueError("an empty path: give a file, or null")
        return path
