"""``probe(path)``: duration and stream facts, parsed from ``ffmpeg -i`` (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

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


def probe(path: str | Path, *, count_frames: bool = True, timeout_s: float = _DEFAULT.timeout_s) -> ProbeInfo:
    """Duration and the first video/audio stream of ``path``.

    ``count_frames`` runs a second, demux-only pass for ``video.n_frames`` (containers rarely state it).
    Raises MissingFile, EmptyFile, CorruptFile (not media, truncated header) or DecodeTimeout.
    """
    check_file(path)
    try:
        done = run(["-hide_banner", "-i", file_url(path)], timeout_s)
    except subprocess.TimeoutExpired:
        raise DecodeTimeout(path, f"probing took longer than {timeout_s} s") from None
    info = parse_header(path, done.stderr.decode("utf-8", "replace"))
    if info.video is not None and (count_frames or info.duration_s != info.duration_s):
        n_frames, counted_s = _count(path, timeout_s)
        duration = info.duration_s if info.duration_s == info.duration_s else (counted_s or float("nan"))
        video = VideoInfo(
            info.video.width, info.video.height, info.video.fps, n_frames if count_frames else None, info.video.codec
        )
        info = ProbeInfo(duration, video, info.audio, info.start_time_s)
    return info
