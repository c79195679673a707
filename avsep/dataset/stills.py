"""Clips made of a still image and an audio file (SoundNet-Flickr's pairs): the image is every stored frame.

A record whose ``meta["frame"]`` names a local image (its ``uri`` is then the audio) is decoded in two parts: the
audio of ``[start_s, end_s)`` like any clip's (:func:`avsep.media.decode_audio`), and the image once, scaled as
video frames are (:func:`avsep.media.decode_image`) and repeated for each stored frame of the audio's span, so
the sample has the shape of every other: ``round(duration · fps)`` frames and ``round(duration · rate)`` samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsep.config import Params, frame_size
from avsep.media import decode_audio, decode_image
from avsep.sources.records import STILL_FRAME, ClipRecord


def still_frame(record: ClipRecord) -> Path | None:
    """The still image of ``record``, or ``None`` for a record whose frames come from its media file."""
    frame = record.meta.get(STILL_FRAME)
    return Path(str(frame)) if frame else None


def decode_still(
    image: str | Path, audio: str | Path, start_s: float, end_s: float | None, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames (T, S, S, 3) uint8, audio (N,) float32)`` of a still clip, S = ``frame_size(params)``.

    ``end_s=None``: to the end of the audio file. The limits and the short-clip rule are the ones
    :func:`avsep.dataset.clips.build_clip` decodes videos with. Raises a DecodeError naming the failing file.
    """
    build, media = params.build, params.media
    # The image first: a missing or broken one fails the clip before its audio is decoded for nothing.
    picture = decode_image(
        image, (frame_size(params), frame_size(params)), max_pixels=media.max_pixels, timeout_s=media.timeout_s
    )
    sound = decode_audio(
        audio,
        start_s,
        end_s,
        sample_rate=build.sample_rate,
        short=media.short_clip,
        max_pixels=media.max_pixels,
        timeout_s=media.timeout_s,
    )
    assert sound.audio is not None  # decode_audio always returns the audio
    n_frames = round((sound.end_s - sound.start_s) * build.fps)
    return np.repeat(picture[np.newaxis], n_frames, axis=0), sound.audio
