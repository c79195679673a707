"""The profile: one key that switches every model between the papers' settings and the CPU demo."""

from pydantic import Field

from avsep.config.base import Section


class ProfileSettings(Section):
    yaml_inline = True

    backbone_width: int = Field(64, ge=4, description="ResNet-18 base channels (64 = the papers')")
    image_size: int = Field(224, ge=32, description="frames fed to the vision network")
    frame_size: int = Field(
        256,
        ge=16,
        le=1024,
        description="stored frames are frame_size x frame_size (the papers: 256); build.frame_size overrides it",
    )
    batch_size: int = Field(32, ge=1, description="training batch size")
    epochs_scale: float = Field(1.0, gt=0, description="multiplies every method's epoch count (demo: fewer passes)")
    max_steps_per_epoch: int | None = Field(None, ge=1, description="cap on steps per epoch (demo: minutes, not hours)")


def _demo() -> ProfileSettings:
    return ProfileSettings(
        backbone_width=16,
        image_size=112,
        frame_size=128,
        batch_size=32,
        epochs_scale=1.0,
        max_steps_per_epoch=40,
    )


class Profiles(Section):
    paper: ProfileSettings = Field(ProfileSettings(), description="the papers' settings")
    demo: ProfileSettings = Field(
        default_factory=_demo,
        description="the CPU demo: narrow backbones, small frames, at most max_steps_per_epoch steps an epoch",
    )
