"""One still image (jpg, png, ...) decoded with ffmpeg and scaled exactly as :func:`avsep.media.decode` scales frames.

A still stands for the frames of a clip whose picture does not move (SoundNet-Flickr's pairs: one frame, one
audio file), so it goes through the same ``scale`` filter and ``rgb24`` output as a video's frames: a still
and a video holding that same picture give the same pixels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import ffmpeg
import numpy as np

from avsep.config.media import MediaParams
from avsep.media.decode import NO_DECODER_MARKERS
from avsep.media.errors import CorruptFile, DecodeError, DecodeTimeout, NoVideoStream, UnsupportedCodec, VideoTooLarge
from avsep.media.ffmpeg import file_url, run
from avsep.media.probe import check_file, first_error, parse_header

_DEFAULT = MediaParams()


def decode_image(
    path: str | Path,
    size: tuple[int, int] | None = None,
    *,
    max_pixels: int = _DEFAULT.max_pixels,
    timeout_s: float = _DEFAULT.timeout_s,
) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3) uint8`` RGB, scaled to exactly ``size=(W, H)`` (``None``: its own).

    Raises a DecodeError subclass naming the file: MissingFile, EmptyFile, CorruptFile (not an image),
    NoVideoStream (audio only), UnsupportedCodec, VideoTooLarge (above ``max_pixels``, before decoding) or
    DecodeTimeout.
    """
    check_file(path)
    try:
        header = run(["-hide_banner", "-i", file_url(path)], timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"probing took longer than {timeout_s} s") from None
    # An image has no duration to probe for, so only the header is read (probe() would count frames too).
    text = header.stderr.decode("utf-8", "replace")
    info = parse_header(path, text).video
    if info is None and " Video: " in text:  # a picture stream whose size ffmpeg could not read: damaged data
        raise CorruptFile(path, f"not a decodable image ({first_error(text)})")
    if info is None:
        raise NoVideoStream(path, "no image in this file")
    if info.codec == "none":
        raise UnsupportedCodec(path, "image codec has no decoder in this ffmpeg")
    if info.width * info.height > max_pixels:
        reason = f"image is {info.width}x{info.height} = {info.width * info.height} pixels"
        raise VideoTooLarge(path, f"{reason}, above media.max_pixels = {max_pixels}")
    width, height = size or (info.width, info.height)
    if width <= 0 or height <= 0:
        raise ValueError(f"{path}: size must be positive, got {size}")
    picture = ffmpeg.input(file_url(path))["v:0"].filter("scale", width, height)
    output = ffmpeg.output(picture, "pipe:1", format="rawvideo", pix_fmt="rgb24", **{"frames:v": 1})
    try:
        done = run(["-nostdin", "-hide_banner", "-loglevel", "error", *output.get_args()], timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"decoding took longer than {timeout_s} s") from None
    stderr = done.stderr.decode("utf-8", "replace")
    if any(marker in stderr for marker in NO_DECODER_MARKERS):
        raise UnsupportedCodec(path, f"no decoder for the image ({first_error(stderr)})")
    if done.returncode != 0:
        raise DecodeError(path, f"ffmpeg exited with {done.returncode}: {first_error(stderr)}")
    want = width * height * 3
    if len(done.stdout) != want:
        raise CorruptFile(path, f"decoded {len(done.stdout)} bytes, expected {want} ({first_error(stderr)})")
    return np.frombuffer(done.stdout, np.uint8).reshape(height, width, 3)
