"""What a method's training step is fed, per profile (``dmc.inputs``, ``mssl.inputs``, ``dsol.inputs``,
``cavl.inputs``): how its frames are cut, its audio front end and window, its batch size and how many windows
of each stored clip make one epoch.

The demo values keep today's path (whole frames resized to the profile's image_size, the log-mel the build
stored, 1-s windows, the profile's batch size, six windows a clip); the paper values are each paper's own. A
front end other than ``stored`` is computed in the training step from the stored audio (16-bit PCM),
batched, on the step's device (``avsep.features.batched``).
"""

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from avsep.config.base import ByProfile, Section

# stored: the log-mel the build stored (features.preset); the others are avsep.features presets.
FrontEndName = Literal["stored", "dsol", "dmc", "vggish", "mssl"]


class InputParams(Section):
    frames: ByProfile[Literal["resize", "crop"]] = Field(
        ByProfile[Literal["resize", "crop"]](paper="resize", demo="resize"),
        description=(
            "resize (the whole stored frame scaled to image_size) | crop (scaled to image_size x 256/224, then "
            "a random image_size crop, flipped half the time, in training and the centre crop at test)"
        ),
    )
    image_size: ByProfile[PositiveInt | None] = Field(
        ByProfile[PositiveInt | None](paper=None, demo=None),
        description="side of the frames the vision network sees; null: the profile's image_size",
    )
    front_end: ByProfile[FrontEndName] = Field(
        ByProfile[FrontEndName](paper="stored", demo="stored"),
        description=(
            "stored (the log-mel the build stored, features.preset) | dsol | dmc | vggish | mssl (that preset "
            "computed in the training step from the stored audio, on the step's device)"
        ),
    )
    window_s: ByProfile[PositiveFloat | None] = Field(
        ByProfile[PositiveFloat | None](paper=None, demo=None),
        description=(
            "seconds of audio per sample (and the window its frame is drawn from); null: "
            "shards.localization.window_s; a front end other than stored sees exactly this much"
        ),
    )
    batch_size: ByProfile[PositiveInt | None] = Field(
        ByProfile[PositiveInt | None](paper=None, demo=None),
        description="training batch size; null: the profile's batch_size",
    )
    windows_per_clip: ByProfile[PositiveInt | None] = Field(
        ByProfile[PositiveInt | None](paper=None, demo=None),
        description=(
            "distinct windows taken from each stored clip per epoch (an epoch = clips x this); null: "
            "shards.localization.windows_per_clip"
        ),
    )


def inputs(
    frames: Literal["resize", "crop"] = "resize",
    image_size: int | None = None,
    front_end: FrontEndName = "stored",
    window_s: float | None = None,
    batch_size: int | None = None,
    windows_per_clip: int | None = None,
) -> InputParams:
    """A method's default :class:`InputParams`: the given paper values, today's path (every demo value) for the
    demo."""
    return InputParams(
        frames=ByProfile[Literal["resize", "crop"]](paper=frames, demo="resize"),
        image_size=ByProfile[PositiveInt | None](paper=image_size, demo=None),
        front_end=ByProfile[FrontEndName](paper=front_end, demo="stored"),
        window_s=ByProfile[PositiveFloat | None](paper=window_s, demo=None),
        batch_size=ByProfile[PositiveInt | None](paper=batch_size, demo=None),
        windows_per_clip=ByProfile[PositiveInt | None](paper=windows_per_clip, demo=None),
    )
