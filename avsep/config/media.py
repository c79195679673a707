"""Parameters of ``avsep.media``: decoding limits and behaviour, and the encoder used for rendered videos."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class EncodeParams(Section):
    crf: int = Field(23, ge=0, le=51)  # x264 constant rate factor: lower is better quality, bigger files
    preset: str = "veryfast"  # x264 speed/size trade-off
    threads: int = Field(1, ge=1)  # fixed so the bytes do not depend on the machine
    audio_rate: int = Field(44100, ge=8000, le=96000)  # AAC sample rate of the written file
    channels: int = Field(2, ge=1, le=8)  # AAC channels of the written file
    audio_bitrate: str = "128k"


class MediaParams(Section):
    short_clip: Literal["pad", "refuse"] = "pad"  # a clip shorter than asked: zero-pad or raise ClipTooShort
    # Shortfalls up to this are padded even under "refuse": AAC priming and container rounding make audio
    # and video end a few tens of milliseconds apart in ordinary files.
    short_tolerance_s: float = Field(0.1, ge=0)
    # Seek this far before start_s and cut exactly with filters: covers one audio codec frame (and its
    # decoder warm-up) at any rate down to 8 kHz, where ffmpeg's own seek is only frame-accurate.
    seek_margin_s: float = Field(0.5, ge=0)
    max_pixels: int = Field(4096 * 4096, gt=0)  # larger videos are refused (VideoTooLarge) before decoding
    timeout_s: float = Field(600.0, gt=0)  # one ffmpeg call may not run longer than this
    encode: EncodeParams = EncodeParams()
