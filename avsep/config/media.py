"""Parameters of ``avsep.media``: decoding limits and behaviour, and the encoder used for rendered videos."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class EncodeParams(Section):
    crf: int = Field(23, ge=0, le=51, description="x264 quality: lower = better, bigger")
    preset: str = Field("veryfast", description="x264 speed/size trade-off")
    threads: int = Field(1, ge=1, description="fixed so the bytes do not depend on the machine")
    audio_rate: int = Field(44100, ge=8000, le=96000, description="Hz of the written AAC")
    channels: int = Field(2, ge=1, le=8, description="AAC channels written")
    audio_bitrate: str = Field("128k", description="AAC bitrate of the written file")


class MediaParams(Section):
    short_clip: Literal["pad", "refuse"] = Field(
        "pad",
        description="a clip shorter than asked: pad with silence/last frame, or refuse",
    )
    short_tolerance_s: float = Field(
        0.1,
        ge=0,
        description=(
            "shortfalls up to this are padded even under refuse: AAC priming and container rounding make "
            "audio and video end a few tens of milliseconds apart in ordinary files"
        ),
    )
    seek_margin_s: float = Field(
        0.5,
        ge=0,
        description=(
            "seek this far before start_s and cut exactly with filters: covers one audio codec frame (and "
            "its decoder warm-up) at any rate down to 8 kHz, where ffmpeg's own seek is only frame-accurate"
        ),
    )
    max_pixels: int = Field(
        4096 * 4096,
        gt=0,
        description="width*height above this is refused before decoding (4096x4096)",
    )
    timeout_s: float = Field(600.0, gt=0, description="one ffmpeg call may not run longer than this")
    encode: EncodeParams = Field(
        EncodeParams(),
        description="avsep.media.encode (the world renderer): H.264 + AAC mp4, same bytes for same inputs",
    )
