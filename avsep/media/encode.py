"""Write frames + audio to an H.264/AAC mp4 in one ffmpeg process, atomically and byte-deterministically."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import ffmpeg
import numpy as np

from avsep.config.media import MediaParams
from avsep.io import atomic_path
from avsep.media.errors import EncodeError
from avsep.media.ffmpeg import Piped, ffmpeg_exe, file_url

_MEDIA = MediaParams()
_DEFAULT = _MEDIA.encode
MAX_INPUT_CHANNELS = 8


def _check(frames: np.ndarray, fps: float, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate inputs; return audio interleaved as ``(N, C)`` float32."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        raise ValueError(f"frames must be a uint8 numpy array, got {getattr(frames, 'dtype', type(frames))}")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {frames.shape}")
    t, h, w, _ = frames.shape
    if t == 0:
        raise ValueError("frames is empty (T = 0)")
    if h % 2 or w % 2:
        raise ValueError(f"frame size {w}x{h} must have an even width and height for H.264 yuv420p")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or not 1 <= audio.shape[0] <= MAX_INPUT_CHANNELS:
        raise ValueError(f"audio must have shape (N,) or (C, N) with C <= {MAX_INPUT_CHANNELS}, got {np.shape(audio)}")
    if audio.shape[1] == 0:
        raise ValueError("audio is empty (N = 0)")
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"audio must be float in [-1, 1], got dtype {audio.dtype}")
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    peak = float(np.abs(audio).max())
    if peak > 1.0:
        raise ValueError(f"audio must lie in [-1, 1], peak is {peak:.4g}: normalise before encoding")
    return np.ascontiguousarray(audio.T, dtype="<f4")


def _writer(stream, data: bytes):
    def write():
        try:
            stream.write(data)
        finally:
            stream.close()

    return write


def encode(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray,
    sample_rate: int,
    *,
    crf: int = _DEFAULT.crf,
    preset: str = _DEFAULT.preset,
    threads: int = _DEFAULT.threads,
    gop: int | None = None,
    audio_rate: int = _DEFAULT.audio_rate,
    channels: int = _DEFAULT.channels,
    audio_bitrate: str = _DEFAULT.audio_bitrate,
    timeout_s: float = _MEDIA.timeout_s,
) -> Path:
    """Write an mp4 (H.264 yuv420p + AAC) to ``path``; the same inputs give the same bytes.

    frames: ``(T, H, W, 3) uint8`` RGB at ``fps``, H and W even.
    audio: ``(N,)`` mono or ``(C, N)`` float in [-1, 1] at ``sample_rate``; written as ``channels`` channels
    at ``audio_rate`` Hz. ``gop`` fixes the keyframe interval (frames), else x264 decides.
    Frames go through stdin and audio through a second pipe, so nothing but the final file touches the disk;
    the file appears under ``path`` only when complete. Raises ValueError on bad input, EncodeError if
    ffmpeg fails or runs past ``timeout_s``.
    """
    interleaved = _check(frames, fps, audio, sample_rate)
    _, h, w, _ = frames.shape
    read_fd, write_fd = os.pipe()
    video_in = ffmpeg.input("pipe:0", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)
    audio_in = ffmpeg.input(f"pipe:{read_fd}", format="f32le", ar=sample_rate, ac=interleaved.shape[1])
    video_opts = {
        "c:v": "libx264",
        "pix_fmt": "yuv420p",
        "crf": crf,
        "preset": preset,
        "threads": threads,
        **({"g": gop} if gop is not None else {}),
    }
    with atomic_path(path, suffix=".mp4") as tmp:
        out = ffmpeg.output(
            video_in.video,
            audio_in.audio,
            file_url(tmp),
            format="mp4",
            **video_opts,
            **{
                "c:a": "aac",
                "b:a": audio_bitrate,
                "ar": audio_rate,
                "ac": channels,
                "fflags": "+bitexact",
                "flags:v": "+bitexact",
                "flags:a": "+bitexact",
                "map_metadata": -1,
                "map_chapters": -1,
                "metadata:s:v": "encoder=",
                "metadata:s:a": "encoder=",
            },
        )
        args = ["-nostdin", "-hide_banner", "-loglevel", "error", *out.overwrite_output().get_args()]
        try:
            job = Piped(args, stdin=True, pass_fds=(read_fd,))
        finally:
            os.close(read_fd)
        audio_stream = os.fdopen(write_fd, "wb")
        job.start(
            _writer(job.proc.stdin, np.ascontiguousarray(frames).tobytes()),
            _writer(audio_stream, interleaved.tobytes()),
        )
        try:
            code, stderr = job.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise EncodeError(path, f"ffmpeg ran longer than {timeout_s} s") from None
        if code != 0:
            raise EncodeError(path, f"ffmpeg ({ffmpeg_exe()}) exited with {code}: {stderr.strip()[-2000:]}")
    return Path(path)
