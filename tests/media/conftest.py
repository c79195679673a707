"""Small test videos made with ffmpeg's lavfi sources (testsrc2 pictures, a 440 Hz sine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from avsep.media.ffmpeg import ffmpeg_exe

TONE_HZ = 440


def make_clip(
    path: Path,
    *,
    size=(64, 48),
    fps=24,
    duration=2.0,
    audio_rate=16000,
    channels=1,
    video=True,
    audio=True,
    vfr=False,
    noise=False,
) -> Path:
    """Write an H.264 (+ AAC) clip; odd sizes use yuv444p since yuv420p needs even sizes.

    The audio is a 440 Hz tone, or with ``noise`` seeded white noise (for finding time offsets).
    """
    w, h = size
    pix = "yuv444p" if w % 2 or h % 2 else "yuv420p"
    args = [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={fps}:duration={duration},format={pix}"]
    if audio:
        source = "anoisesrc=seed=1:amplitude=0.5" if noise else f"sine=frequency={TONE_HZ}"
        args += ["-f", "lavfi", "-i", f"{source}:sample_rate={audio_rate}:duration={duration}"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix]
        if vfr:  # drop an irregular subset of frames and keep the timestamps as they are
            args += ["-vf", r"select='not(mod(n\,3))+eq(mod(n\,5)\,0)'", "-fps_mode", "vfr"]
    if audio:
        args += ["-c:a", "aac", "-ac", str(channels)]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*args, str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def tone_hz() -> int:
    return TONE_HZ


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """3 s, 64x48 at 24 fps, mono 16 kHz AAC."""
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", duration=3.0)


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return lambda name, **kw: make_clip(folder / name, **kw)
