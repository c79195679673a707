"""The in-process probe (PyAV) gives what parsing ``ffmpeg -i`` gives, file by file, errors included."""

import math
import subprocess
from pathlib import Path

import pytest

from avsep import media
from avsep.media import probe, probe_ffmpeg
from avsep.media.ffmpeg import ffmpeg_exe
from avsep.media.probe import _header_av, _header_ffmpeg, _Unsaid


def _ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", *map(str, args)], check=True)


def _same(a: media.ProbeInfo, b: media.ProbeInfo) -> bool:
    """Equal, with a missing duration (nan) equal to itself."""
    both_nan = math.isnan(a.duration_s) and math.isnan(b.duration_s)
    return (both_nan and (a.video, a.audio, a.start_time_s) == (b.video, b.audio, b.start_time_s)) or a == b


@pytest.fixture(scope="module")
def fixtures(clip, clip_factory, tmp_path_factory) -> dict[str, Path]:
    """One file per kind the probe must read: rotations, missing streams, layouts, cover art, VFR, offsets."""
    folder = tmp_path_factory.mktemp("probe in process")
    plain = clip_factory("probe plain.mp4", duration=1.0, size=(80, 60))
    files = {
        "clip": clip,
        "no audio": clip_factory("probe silent.mp4", audio=False, duration=0.5),
        "no video": clip_factory("probe blind.m4a", video=False, duration=0.5),
        "5.1 at 48 kHz": clip_factory("probe 51.mp4", video=False, channels=6, audio_rate=48000, duration=0.5),
        "stereo mkv": clip_factory("probe stereo.mkv", channels=2, audio_rate=22050, fps=25, duration=0.5),
        "odd size": clip_factory("probe odd.mkv", size=(79, 61), duration=0.5),
        "vfr": clip_factory("probe vfr.mkv", fps=30, vfr=True, audio=False, duration=1.0),
        "29.97 fps": folder / "ntsc.mp4",
        "mpegts offset": folder / "offset.ts",
    }
    _ffmpeg(
        "-i", plain, "-c:v", "libx264", "-preset", "ultrafast", "-r", "30000/1001", "-c:a", "copy", files["29.97 fps"]
    )
    _ffmpeg("-i", plain, "-c", "copy", "-output_ts_offset", "1.234567", files["mpegts offset"])
    for degrees in (90, -90, 180):
        files[f"rotated {degrees}"] = folder / f"rotated {degrees}.mp4"
        _ffmpeg("-display_rotation", degrees, "-i", plain, "-c", "copy", files[f"rotated {degrees}"])
    cover = folder / "cover.png"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=32x32:duration=0.1", "-frames:v", 1, cover)
    files["audio with cover art"] = folder / "song.m4a"
    _ffmpeg("-i", files["no video"], "-i", cover, "-map", 1, "-map", 0, "-c", "copy", "-disposition:v", "attached_pic",
            files["audio with cover art"])  # fmt: skip
    files["cover art before the video"] = folder / "covered.mp4"
    _ffmpeg("-i", plain, "-i", cover, "-map", 1, "-map", 0, "-c", "copy", "-disposition:v:0", "attached_pic",
            files["cover art before the video"])  # fmt: skip
    return files


def test_in_process_header_equals_the_ffmpeg_parse(fixtures):
    for name, path in fixtures.items():
        ours = _header_av(path, 30.0)  # the PyAV path itself, not a fallback to ffmpeg
        theirs = _header_ffmpeg(path, 30.0)
        assert _same(ours, theirs), f"{name}: PyAV {ours} != ffmpeg {theirs}"
        assert _same(probe(path), probe_ffmpeg(path)), name  # counting frames on top of either


def test_fixtures_cover_what_the_header_can_say(fixtures):
    infos = {name: probe(path, count_frames=False) for name, path in fixtures.items()}
    assert infos["rotated 90"].video is not None and (
        infos["rotated 90"].video.width,
        infos["rotated 90"].video.height,
    ) == (60, 80)
    assert infos["rotated 180"].video is not None and infos["rotated 180"].video.width == 80
    assert infos["audio with cover art"].video is None and infos["no video"].video is None
    covered = infos["cover art before the video"].video
    assert covered is not None and (covered.width, covered.codec) == (80, "h264")
    assert infos["no audio"].audio is None
    assert infos["5.1 at 48 kHz"].audio == media.AudioInfo(48000, 6, "aac")
    assert infos["29.97 fps"].video is not None and infos["29.97 fps"].video.fps == 29.97
    assert infos["mpegts offset"].start_time_s > 1.2


def test_files_pyav_cannot_describe_fall_back_to_ffmpeg(tmp_path, clip):
    data = bytearray(clip.read_bytes())
    at = data.index(b"avc1", data.index(b"stsd"))
    data[at : at + 4] = b"zzz9"  # a sample-entry tag no decoder knows: ffmpeg says codec "none"
    odd = tmp_path / "unknown codec.mp4"
    odd.write_bytes(bytes(data))
    with pytest.raises(_Unsaid):
        _header_av(odd, 30.0)
    info = probe(odd, count_frames=False)
    assert info.video is not None and info.video.codec == "none" and info == probe_ffmpeg(odd, count_frames=False)


def _error(call) -> tuple[type, str]:
    with pytest.raises(media.DecodeError) as caught:
        call()
    return type(caught.value), str(caught.value)


def test_errors_are_the_ffmpeg_parse_errors(tmp_path, clip):
    garbage, cut, empty = tmp_path / "garbage.mp4", tmp_path / "cut.mp4", tmp_path / "empty.mp4"
    garbage.write_bytes(bytes(range(256)) * 40)
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # moov atom at the end: the header is gone
    empty.write_bytes(b"")
    expected = {garbage: media.CorruptFile, cut: media.CorruptFile, empty: media.EmptyFile}
    for path, error in {**expected, tmp_path / "missing.mp4": media.MissingFile}.items():
        ours, theirs = _error(lambda p=path: probe(p)), _error(lambda p=path: probe_ffmpeg(p))
        assert ours == theirs and ours[0] is error and ours[1].startswith(str(path))
