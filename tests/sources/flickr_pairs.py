"""A tiny SoundNet-Flickr test set in the published layout, with real media: jpg frames, wav audio, XML boxes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from avsep.media.ffmpeg import ffmpeg_exe
from tests.sources.test_boxes import flickr_xml


def make_still(path: Path, picture: str = "testsrc2", size: str = "64x48") -> Path:
    """One jpg of ffmpeg's lavfi ``picture`` (testsrc2, smptebars, rgbtestsrc, ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", f"{picture}=size={size}"]
    subprocess.run([*args, "-frames:v", "1", str(path)], check=True)
    return path


def make_wav(path: Path, seconds: float = 2.0, rate: int = 16000, channels: int = 1, hz: int = 440) -> Path:
    """A sine of ``hz`` as 16-bit PCM wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    args += ["-i", f"sine=frequency={hz}:duration={seconds}:sample_rate={rate}", "-ac", str(channels)]
    subprocess.run([*args, str(path)], check=True)
    return path


def write_flickr_pair(root: Path, item: str, boxes, picture: str | None = "testsrc2", size: str = "64x48", **wav):
    """``Annotations/ITEM.xml`` with one 256-px box per annotator, ``frames/ITEM.jpg`` (none when ``picture`` is
    None) and ``audio/ITEM.wav``."""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{item}.xml").write_text(flickr_xml(*boxes))
    if picture is not None:
        make_still(root / "frames" / f"{item}.jpg", picture, size)
    make_wav(root / "audio" / f"{item}.wav", **wav)
