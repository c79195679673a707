"""Single-pass decoding: one ffmpeg process writes frames to one pipe and mono audio to another."""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from avsep.config.media import MediaParams
from avsep.media.errors import (
    ClipTooShort,
    CorruptFile,
    DecodeError,
    DecodeTimeout,
    NoAudioStream,
    NoVideoStream,
    StartBeyondEnd,
    UnsupportedCodec,
    VideoTooLarge,
)
from avsep.media.ffmpeg import Piped, file_url
from avsep.media.probe import ProbeInfo, first_error, marked_error, probe

_DEFAULT = MediaParams()
BYTES_PER_SAMPLE = 4  # f32le
# ffmpeg's words for input it could read only in part; any of them makes a short result a corrupt one.
DAMAGE_MARKERS = ("partial file", "Invalid data found", "Error splitting", "corrupt", "Invalid NAL")
NO_DECODER_MARKERS = ("no decoder found", "Decoder not found", "Decoding requested, but no decoder")


@dataclass
class Decoded:
    """A decoded segment ``[start_s, end_s)`` of ``path``.

    frames: ``(T, H, W, 3) uint8`` RGB, T = round((end_s - start_s) * fps) (``None`` from decode_audio);
    audio: ``(N,) float32`` mono in [-1, 1], N = round((end_s - start_s) * sample_rate) (``None`` from
    decode_frames). ``valid_frames`` / ``valid_samples`` count the decoded ones; the rest is padding
    (the last frame repeated, silence).
    """

    frames: np.ndarray | None
    audio: np.ndarray | None
    fps: float | None
    sample_rate: int | None
    start_s: float
    end_s: float
    info: ProbeInfo
    valid_frames: int
    valid_samples: int


def _reader(stream):
    def read() -> bytes:
        with stream:
            return stream.read()

    return read


def _plan(
    path, info: ProbeInfo, want_video: bool, want_audio: bool, start_s: float, end_s: float | None, max_pixels: int
) -> float:
    """Check streams, size and the time range before decoding; return the end time."""
    if want_video:
        if info.video is None:
            raise NoVideoStream(path, "no video stream")
        if info.video.codec == "none":
            raise UnsupportedCodec(path, "video codec has no decoder in this ffmpeg")
        pixels = info.video.width * info.video.height
        if pixels > max_pixels:
            raise VideoTooLarge(
                path,
                f"video is {info.video.width}x{info.video.height} = {pixels} pixels, "
                f"above media.max_pixels = {max_pixels}",
            )
    if want_audio:
        if info.audio is None:
            raise NoAudioStream(path, "no audio stream")
        if info.audio.codec == "none":
            raise UnsupportedCodec(path, "audio codec has no decoder in this ffmpeg")
    if not math.isfinite(info.duration_s):
        raise CorruptFile(path, "duration unknown")
    if start_s < 0:
        raise ValueError(f"{path}: start_s must be >= 0, got {start_s}")
    if start_s >= info.duration_s:
        raise StartBeyondEnd(path, f"start {start_s:.3f} s is at or beyond the end ({info.duration_s:.3f} s)")
    end_s = info.duration_s if end_s is None else end_s
    if end_s <= start_s:
        raise ValueError(f"{path}: end_s ({end_s}) must be greater than start_s ({start_s})")
    return end_s


def _fit(
    path, data: np.ndarray, want: int, per_s: float, damaged: str | None, short: str, tol_s: float, what: str
) -> tuple[np.ndarray, int]:
    """Trim or pad ``data`` (first axis) to exactly ``want``; a real shortfall is refused or reported."""
    got = len(data)
    missing_s = (want - got) / per_s
    if missing_s > tol_s:
        asked = f"{want / per_s:.3f} s of {what}, decoded {got / per_s:.3f} s"
        if damaged:
            raise CorruptFile(path, f"truncated or corrupt: {asked} ({damaged})")
        if short == "refuse":
            raise ClipTooShort(path, f"clip too short: {asked}")
    if got >= want:
        return data[:want], want
    if got == 0:
        raise CorruptFile(path, f"no {what} could be decoded" + (f" ({damaged})" if damaged else ""))
    tail = np.repeat(data[-1:], want - got, axis=0) if what == "video" else np.zeros(want - got, data.dtype)
    return np.concatenate([data, tail]), got


def _outputs(
    path,
    info: ProbeInfo,
    start_s: float,
    end_s: float,
    fps: float | None,
    size: tuple[int, int],
    sample_rate: int | None,
    seek_margin_s: float,
) -> tuple[list, list[int]]:
    """ffmpeg-python outputs: video to ``pipe:1``, audio to a fresh pipe (returns its read and write fds).

    ffmpeg's own input seeking trims audio only to codec-frame boundaries (up to 1024 samples off for AAC),
    so it seeks ``seek_margin_s`` early and keeps the file's timestamps (``-copyts``); the fps/atrim
    filters then cut at the exact times.
    """
    t0 = info.start_time_s + start_s
    seek = start_s - seek_margin_s
    # No seek at all near the start: a seek to 0 skips the edit list that drops AAC priming samples.
    source = ffmpeg.input(file_url(path), **({"ss": f"{seek:.6f}", "noaccurate_seek": None} if seek > 0 else {}))
    outputs, fds = [], []
    if fps is not None:
        # round=up: frame k is the picture on screen at start_s + k / fps (the last one shown by then)
        video = source["v:0"].filter("fps", fps=fps, round="up", start_time=f"{t0:.6f}")
        video = video.filter("scale", *size)
        outputs.append(
            ffmpeg.output(
                video, "pipe:1", format="rawvideo", pix_fmt="rgb24", **{"frames:v": round((end_s - start_s) * fps)}
            )
        )
    if sample_rate is not None:
        read_fd, write_fd = os.pipe()
        fds = [read_fd, write_fd]
        audio = source["a:0"].filter("aresample", sample_rate)
        audio = audio.filter("atrim", start=f"{t0:.6f}", end=f"{info.start_time_s + end_s:.6f}")
        outputs.append(ffmpeg.output(audio, f"pipe:{write_fd}", format="f32le", ac=1, ar=sample_rate))
    return outputs, fds


def _decode(
    path: str | Path,
    start_s: float,
    end_s: float | None,
    fps: float | None,
    size: tuple[int, int] | None,
    sample_rate: int | None,
    *,
    want_video: bool,
    want_audio: bool,
    short: str,
    short_tolerance_s: float,
    max_pixels: int,
    timeout_s: float,
    info: ProbeInfo | None,
    seek_margin_s: float = _DEFAULT.seek_margin_s,
) -> Decoded:
    if short not in ("pad", "refuse"):
        raise ValueError(f"short must be 'pad' or 'refuse', got {short!r}")
    info = info or probe(path, count_frames=False, timeout_s=timeout_s)
    end_s = _plan(path, info, want_video, want_audio, start_s, end_s, max_pixels)
    if end_s - info.duration_s > short_tolerance_s and short == "refuse":
        raise ClipTooShort(path, f"asked for {start_s:.3f}-{end_s:.3f} s, file lasts {info.duration_s:.3f} s")
    # _plan refused a wanted stream that is missing, so info.video (info.audio) is set when wanted
    fps = fps or (info.video.fps if want_video and info.video else None)
    sample_rate = sample_rate or (info.audio.sample_rate if want_audio and info.audio else None)
    width, height = size or ((info.video.width, info.video.height) if want_video and info.video else (0, 0))
    if want_video and not (fps is not None and fps > 0 and width > 0 and height > 0):
        raise ValueError(f"{path}: fps and size must be positive, got fps={fps}, size={size}")
    outputs, fds = _outputs(
        path,
        info,
        start_s,
        end_s,
        fps if want_video else None,
        (width, height),
        sample_rate if want_audio else None,
        seek_margin_s,
    )
    args = ["-nostdin", "-hide_banner", "-loglevel", "error", "-copyts", *ffmpeg.merge_outputs(*outputs).get_args()]
    try:
        job = Piped(args, stdout=want_video, pass_fds=fds[1:])
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if fds:
        os.close(fds[1])  # only ffmpeg may hold the write end, so EOF arrives when it exits
    readers = ([_reader(job.proc.stdout)] if want_video else []) + (
        [_reader(os.fdopen(fds[0], "rb"))] if want_audio else []
    )
    job.start(*readers)
    try:
        code, stderr = job.wait(timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"decoding took longer than {timeout_s} s") from None
    if any(marker in stderr for marker in NO_DECODER_MARKERS):
        raise UnsupportedCodec(path, f"no decoder for a stream ({first_error(stderr)})")
    if code != 0:
        raise DecodeError(path, f"ffmpeg exited with {code}: {first_error(stderr)}")
    damaged = marked_error(stderr, DAMAGE_MARKERS)
    results = list(job.results)
    duration = end_s - start_s
    frames = audio = None
    valid_frames = valid_samples = 0
    if want_video:
        assert fps is not None  # checked positive above
        raw = np.frombuffer(results.pop(0), np.uint8)
        raw = raw[: len(raw) - len(raw) % (height * width * 3)].reshape(-1, height, width, 3)
        frames, valid_frames = _fit(path, raw, round(duration * fps), fps, damaged, short, short_tolerance_s, "video")
    if want_audio:
        assert sample_rate is not None  # the stream's own rate unless one was asked for
        raw = np.frombuffer(results.pop(0), "<f4")
        audio, valid_samples = _fit(
            path, raw, round(duration * sample_rate), sample_rate, damaged, short, short_tolerance_s, "audio"
        )
        audio = audio.astype(np.float32, copy=False)
    return Decoded(frames, audio, fps, sample_rate, start_s, end_s, info, valid_frames, valid_samples)


def decode(
    path: str | Path,
    start_s: float = 0.0,
    end_s: float | None = None,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    sample_rate: int | None = None,
    *,
    short: str = _DEFAULT.short_clip,
    short_tolerance_s: float = _DEFAULT.short_tolerance_s,
    max_pixels: int = _DEFAULT.max_pixels,
    timeout_s: float = _DEFAULT.timeout_s,
    seek_margin_s: float = _DEFAULT.seek_margin_s,
    info: ProbeInfo | None = None,
) -> Decoded:
    """Frames and mono audio of ``[start_s, end_s)`` in one ffmpeg process (plus a header-only probe).

    ``end_s=None`` means the end of the file; ``fps``/``size=(W, H)``/``sample_rate`` of ``None`` keep the
    file's own. Frames are resampled to exactly ``fps`` (variable-rate input included) and scaled to
    exactly ``size`` (aspect ratio not kept). A segment reaching past the file's end is padded or, with
    ``short="refuse"``, raises ClipTooShort; shortfalls within ``short_tolerance_s`` are always padded.
    Pass ``info`` from an earlier :func:`probe` to skip probing; ``**media_options(params.media)`` passes
    the configured limits. Raises a DecodeError subclass naming the file.
    """
    return _decode(
        path,
        start_s,
        end_s,
        fps,
        size,
        sample_rate,
        want_video=True,
        want_audio=True,
        short=short,
        short_tolerance_s=short_tolerance_s,
        max_pixels=max_pixels,
        timeout_s=timeout_s,
        seek_margin_s=seek_margin_s,
        info=info,
    )


def decode_frames(
    path: str | Path,
    start_s: float = 0.0,
    end_s: float | None = None,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    **options,
) -> Decoded:
    """Like :func:`decode` for the video only (``audio`` is None); works on files without audio."""
    return _decode(
        path, start_s, end_s, fps, size, None, want_video=True, want_audio=False, **{**_options(), **options}
    )


def decode_audio(
    path: str | Path, start_s: float = 0.0, end_s: float | None = None, sample_rate: int | None = None, **options
) -> Decoded:
    """Like :func:`decode` for the mono audio only (``frames`` is None); works on files without video."""
    return _decode(
        path, start_s, end_s, None, None, sample_rate, want_video=False, want_audio=True, **{**_options(), **options}
    )


def media_options(media: MediaParams) -> dict:
    """The keyword arguments of decode/decode_frames/decode_audio that come from ``params.media``."""
    return {
        "short": media.short_clip,
        "short_tolerance_s": media.short_tolerance_s,
        "max_pixels": media.max_pixels,
        "timeout_s": media.timeout_s,
        "seek_margin_s": media.seek_margin_s,
    }


def _options() -> dict:
    return {**media_options(_DEFAULT), "info": None}
