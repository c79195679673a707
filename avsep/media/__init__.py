"""Media I/O through one ffmpeg binary (imageio-ffmpeg): probe, single-pass decode, deterministic encode.

    info = probe("clip.mp4")                       # ProbeInfo(duration_s, video, audio)
    clip = decode("clip.mp4", 2.0, 5.0, fps=8, size=(224, 224), sample_rate=16000)
    clip.frames.shape, clip.audio.shape            # (24, 224, 224, 3) uint8, (48000,) float32
    decode_image("frame.jpg", size=(224, 224))     # (224, 224, 3) uint8, scaled as decode scales frames
    encode("out.mp4", frames, 24, audio, 16000)    # H.264 + AAC, same bytes for the same inputs

Every bad input raises a subclass of :class:`DecodeError` whose message is ``"{path}: {reason}"``.
"""

from avsep.media.decode import Decoded, decode, decode_audio, decode_frames, media_options
from avsep.media.encode import encode
from avsep.media.errors import (
    ClipTooShort,
    CorruptFile,
    DecodeError,
    DecodeTimeout,
    EmptyFile,
    EncodeError,
    MissingFile,
    NoAudioStream,
    NoVideoStream,
    StartBeyondEnd,
    UnsupportedCodec,
    VideoTooLarge,
)
from avsep.media.image import decode_image
from avsep.media.probe import AudioInfo, ProbeInfo, VideoInfo, probe, probe_ffmpeg

__all__ = [
    "AudioInfo",
    "ClipTooShort",
    "CorruptFile",
    "DecodeError",
    "DecodeTimeout",
    "Decoded",
    "EmptyFile",
    "EncodeError",
    "MissingFile",
    "NoAudioStream",
    "NoVideoStream",
    "ProbeInfo",
    "StartBeyondEnd",
    "UnsupportedCodec",
    "VideoInfo",
    "VideoTooLarge",
    "decode",
    "decode_audio",
    "decode_frames",
    "decode_image",
    "encode",
    "media_options",
    "probe",
    "probe_ffmpeg",
]
