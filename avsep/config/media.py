"""Parameters of ``avsep.media``: decoding limits and behaviour."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class MediaParams(Section):
    short_clip: Literal["pad", "refuse"] = "pad"  # a clip shorter than asked: zero-pad or raise ClipTooShort
    max_pixels: int = Field(4096 * 4096, gt=0)  # larger videos are refused (VideoTooLarge) before decoding
    timeout_s: float = Field(600.0, gt=0)  # one ffmpeg call may not run longer than this
