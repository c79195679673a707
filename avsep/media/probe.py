"""``probe(path)``: duration and stream facts, read in-process with PyAV; ``probe_ffmpeg(path)`` parses them from
``ffmpeg -i`` instead (imageio-ffmpeg ships no ffprobe), and is what the in-process probe falls back to.

The in-process probe saves the decode a second ffmpeg process per clip. It rebuilds each number the way ffmpeg's
header printout rounds it (duration to 1/100 s, start to 1 us, fps to 2 decimals), so both give the same
ProbeInfo; where PyAV cannot say what the printout would (no decoder for a stream, a file PyAV cannot open) the
file is probed by ffmpeg, which also keeps every error message as it was.
"""

from __future__ import annotations

import math
import os
import re
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avsep.config.media import MediaParams
from avsep.media.errors import CorruptFile, DecodeTimeout, EmptyFile, MissingFile
from avsep.media.ffmpeg import file_url, run

_DEFAULT = MediaParams()
# Channel layouts ffmpeg prints by name; anything else is printed as "N channels".
LAYOUT_CHANNELS = {
    "mono": 1,
    "stereo": 2,
    "2.1": 3,
    "3.0": 3,
    "3.0(back)": 3,
    "4.0": 4,
    "quad": 4,
    "quad(side)": 4,
    "3.1": 4,
    "4.1": 5,
    "5.0": 5,
    "5.0(side)": 5,
    "5.1": 6,
    "5.1(side)": 6,
    "6.0": 6,
    "6.1": 7,
    "7.0": 7,
    "7.1": 8,
    "7.1(wide)": 8,
    "octagonal": 8,
}
_STREAM = re.compile(r"^\s*Stream #0:\d+(?:\[\w+\])?(?:\([^)]*\))?: (Video|Audio): (.*)$")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_START = re.compile(r"start: (-?[\d.]+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_SIZE = re.compile(r"(\d+)x(\d+)(?: \[.*\])?")
_RATE = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_FRAME = re.compile(r"frame=\s*(\d+)")
_TIME = re.compile(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed, i.e. after the rotation ffmpeg applies when decoding
    height: int
    fps: float  # average rate; variable-rate files report their mean
    n_frames: int | None  # None unless probe(count_frames=True)
    codec: str  # "none" when ffmpeg has no decoder for it


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    codec: str


@dataclass(frozen=True)
class ProbeInfo:
    duration_s: float
    video: VideoInfo | None
    audio: AudioInfo | None
    start_time_s: float = 0.0  # the container's first timestamp; decode's start_s counts from here


def check_file(path: str | Path) -> None:
    """Raise MissingFile / EmptyFile before any ffmpeg call."""
    if not os.path.isfile(path):
        raise MissingFile(path, "no such file")
    if os.path.getsize(path) == 0:
        raise EmptyFile(path, "file is empty (0 bytes)")


def _fields(text: str) -> list[str]:
    """Split a stream description on top-level commas: ``yuv420p(tv, progressive)`` stays one field."""
    fields, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            fields.append(text[start:i].strip())
            start = i + 1
    return fields + [text[start:].strip()]


def first_error(stderr: str) -> str:
    """The first line ffmpeg complained with, without its ``[in#0 @ 0x...]`` prefix."""
    return next((line for line in _error_lines(stderr) if line), "no message")


def marked_error(stderr: str, markers: tuple[str, ...]) -> str | None:
    """The line that names the earliest of ``markers`` (lines of one marker: the alphabetically first), without
    its prefix; None if no line names one. Unlike :func:`first_error` it does not depend on which of ffmpeg's
    decoder threads wrote first, so a file damaged in both streams gives the same message on every run."""
    lines = _error_lines(stderr)
    return next((min(hits) for marker in markers if (hits := [line for line in lines if marker in line])), None)


def _error_lines(stderr: str) -> list[str]:
    return [re.sub(r"^(\[[^\]]*\] ?)+", "", line).strip() for line in stderr.splitlines()]


def _seconds(match: re.Match) -> float:
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def _video(desc: str, side_data: str) -> VideoInfo | None:
    fields = _fields(desc)
    size = next((_SIZE.fullmatch(f) for f in fields if _SIZE.fullmatch(f)), None)
    if size is None:
        return None
    width, height = int(size.group(1)), int(size.group(2))
    rotation = _ROTATION.search(side_data)
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    rates = {m.group(3): float(m.group(1)) * (1000 if m.group(2) else 1) for m in map(_RATE.fullmatch, fields) if m}
    fps = rates.get("fps") or rates.get("tbr") or 0.0
    return VideoInfo(width, height, fps, None, fields[0].split()[0])


def _audio(desc: str) -> AudioInfo | None:
    fields = _fields(desc)
    rate = next((int(f.split()[0]) for f in fields if re.fullmatch(r"\d+ Hz", f)), None)
    channels = next(
        (
            LAYOUT_CHANNELS.get(f) or int(f.split()[0])
            for f in fields
            if f in LAYOUT_CHANNELS or re.fullmatch(r"\d+ channels", f)
        ),
        None,
    )
    if rate is None or channels is None:
        return None
    return AudioInfo(rate, channels, fields[0].split()[0])


def parse_header(path: str | Path, stderr: str) -> ProbeInfo:
    """Parse the ``Input #0`` block ffmpeg prints; the first video and first audio stream win.

    Attached pictures (cover art) are not video. Duration is ``nan`` when the container does not say.
    """
    if "Input #0" not in stderr:
        raise CorruptFile(path, f"not a readable media file ({first_error(stderr)})")
    block = stderr[stderr.index("Input #0") :]
    lines = block.splitlines()
    duration = _DURATION.search(block)
    video = audio = None
    for i, line in enumerate(lines):
        match = _STREAM.match(line)
        if not match:
            continue
        kind, desc = match.groups()
        if kind == "Video" and video is None and "(attached pic)" not in desc:
            following = "\n".join(lines[i + 1 : i + 12])
            side = following.split("Stream #")[0]
            video = _video(desc, side)
        elif kind == "Audio" and audio is None:
            audio = _audio(desc)
    start = _START.search(block)
    return ProbeInfo(
        _seconds(duration) if duration else float("nan"), video, audio, float(start.group(1)) if start else 0.0
    )


def _count(path: str | Path, timeout_s: float) -> tuple[int | None, float | None]:
    """Frames and duration of the first video stream by remuxing to nowhere (demux only, no decoding)."""
    try:
        done = run(["-hide_banner", "-i", file_url(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"counting frames took longer than {timeout_s} s") from None
    text = done.stderr.decode("utf-8", "replace")
    frames, times = _FRAME.findall(text), list(_TIME.finditer(text))
    return (int(frames[-1]) if frames else None), (_seconds(times[-1]) if times else None)


class _Unsaid(Exception):
    """PyAV cannot state a fact that ffmpeg's header printout states: probe this file with ffmpeg."""


def _printed_duration(duration_us: int | None) -> float:
    """The container duration as ``Duration: HH:MM:SS.xx`` shows it (rounded to 1/100 s), parsed back."""
    if duration_us is None:
        return float("nan")
    total = duration_us + 5000
    secs, us = divmod(total, 1_000_000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    return hours * 3600 + mins * 60 + float(f"{secs:02d}.{100 * us // 1_000_000:02d}")


def _printed_start(start_us: int | None) -> float:
    """The container start as ``start: S.uuuuuu`` shows it; 0.0 when the container has none."""
    if start_us is None:
        return 0.0
    secs, us = divmod(abs(start_us), 1_000_000)  # C's truncating / and % of the signed value, then llabs
    return float(f"{'' if start_us >= 0 else '-'}{secs}.{us:06d}")


def _printed_rate(rate: float) -> float:
    """A frame rate as ffmpeg prints it (two decimals, none for whole rates, ``k`` for thousands), parsed back."""
    hundredths = round(float(np.float32(rate * 100)))  # ffmpeg rounds with lrintf, i.e. in single precision
    if not hundredths:
        return float(f"{rate:1.4f}")
    if hundredths % 100:
        return float(f"{rate:3.2f}")
    if hundredths % 100_000:
        return float(f"{rate:1.0f}")
    return float(f"{rate / 1000:1.0f}") * 1000


def _rotation(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The display matrix's rotation in degrees as ffmpeg prints it (``%.2f``); 0.0 when there is none.

    PyAV gives a stream's display matrix only on decoded frames, so the first frame is decoded (one frame, not
    the clip). The angle is av_display_rotation_get's, from the matrix's 16.16 fixed-point entries.
    """
    stream.codec_context.thread_count = 1  # one frame: starting the decoder's thread pool costs more than it
    frame = next(iter(container.decode(stream)), None)
    matrix = frame.side_data.get("DISPLAYMATRIX") if frame is not None else None
    if matrix is None:
        return 0.0
    raw = bytes(matrix)  # type: ignore[call-overload]  # a SideData buffer; PyAV's stub types it as object
    m = [v / 65536.0 for v in struct.unpack("=9i", raw)]  # nine int32 in the machine's byte order
    scale0, scale1 = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if scale0 == 0.0 or scale1 == 0.0:
        return 0.0  # ffmpeg prints "nan", which the parser does not read as a rotation
    return float(f"{-math.degrees(math.atan2(m[1] / scale1, m[0] / scale0)):.2f}")


def _video_av(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoInfo | None:
    context = stream.codec_context
    if context is None:
        raise _Unsaid
    if not context.width:
        return None  # ffmpeg prints no size, so the parser sees no picture
    width, height = context.width, context.height
    if round(abs(_rotation(container, stream))) % 180 == 90:
        width, height = height, width
    rates = {
        name: _printed_rate(float(rate))
        for name, rate in (("fps", stream.average_rate), ("tbr", stream.base_rate))
        if rate is not None and rate.numerator and rate.denominator
    }
    fps = rates.get("fps") or rates.get("tbr") or 0.0
    return VideoInfo(width, height, fps, None, context.codec.canonical_name)


def _audio_av(stream: av.audio.stream.AudioStream) -> AudioInfo | None:
    context = stream.codec_context
    if context is None:
        raise _Unsaid
    layout = context.layout.name if context.layout.nb_channels else ""
    named = LAYOUT_CHANNELS.get(layout)
    channels = named or (int(layout.split()[0]) if re.fullmatch(r"\d+ channels", layout) else None)
    if not context.sample_rate or channels is None:
        return None
    return AudioInfo(context.sample_rate, channels, context.codec.canonical_name)


def _header_av(path: str | Path, timeout_s: float) -> ProbeInfo:
    """What :func:`parse_header` reads from ``ffmpeg -i``, read in-process; raises _Unsaid where PyAV cannot."""
    started = time.monotonic()
    try:
        with av.open(file_url(path), timeout=timeout_s) as container:
            video = audio = None
            for stream in container.streams:  # in file order, like the printout; a stream that says too
                if isinstance(stream, av.video.stream.VideoStream) and video is None:  # little gives way to
                    if not stream.disposition & av.stream.Disposition.attached_pic:  # the next one, as there
                        video = _video_av(container, stream)
                elif isinstance(stream, av.audio.stream.AudioStream) and audio is None:
                    audio = _audio_av(stream)
            info = ProbeInfo(_printed_duration(container.duration), video, audio, _printed_start(container.start_time))
    except av.FFmpegError:
        if time.monotonic() - started >= timeout_s:
            raise DecodeTimeout(path, f"probing took longer than {timeout_s} s") from None
        raise _Unsaid from None  # not openable by PyAV: ffmpeg's parse gives today's error, or the facts
    if time.monotonic() - started >= timeout_s:
        raise DecodeTimeout(path, f"probing took longer than {timeout_s} s")
    return info


def _header_ffmpeg(path: str | Path, timeout_s: float) -> ProbeInfo:
    try:
        done = run(["-hide_banner", "-i", file_url(path)], timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"probing took longer than {timeout_s} s") from None
    return parse_header(path, done.stderr.decode("utf-8", "replace"))


def probe(path: str | Path, *, count_frames: bool = True, timeout_s: float = _DEFAULT.timeout_s) -> ProbeInfo:
    """Duration and the first video/audio stream of ``path``, read in-process (no ffmpeg process for the header).

    The same ProbeInfo as :func:`probe_ffmpeg`; files PyAV cannot open or describe fully go to it.
    ``count_frames`` runs a second, demux-only ffmpeg pass for ``video.n_frames`` (containers rarely state it).
    Raises MissingFile, EmptyFile, CorruptFile (not media, truncated header) or DecodeTimeout.
    """
    check_file(path)
    try:
        info = _header_av(path, timeout_s)
    except _Unsaid:
        info = _header_ffmpeg(path, timeout_s)
    return _counted(path, info, count_frames, timeout_s)


def probe_ffmpeg(path: str | Path, *, count_frames: bool = True, timeout_s: float = _DEFAULT.timeout_s) -> ProbeInfo:
    """:func:`probe` by parsing ``ffmpeg -i`` (one ffmpeg process for the header); same results and errors."""
    check_file(path)
    return _counted(path, _header_ffmpeg(path, timeout_s), count_frames, timeout_s)


def _counted(path: str | Path, info: ProbeInfo, count_frames: bool, timeout_s: float) -> ProbeInfo:
    """``info`` with the video's frames counted (asked for) and a duration the header lacked (always)."""
    if info.video is not None and (count_frames or info.duration_s != info.duration_s):
        n_frames, counted_s = _count(path, timeout_s)
        duration = info.duration_s if info.duration_s == info.duration_s else (counted_s or float("nan"))
        video = VideoInfo(
            info.video.width, info.video.height, info.video.fps, n_frames if count_frames else None, info.video.codec
        )
        info = ProbeInfo(duration, video, info.audio, info.start_time_s)
    return info
