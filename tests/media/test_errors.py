"""Every bad input gives its own DecodeError subclass, and the message names the file."""

import dataclasses
import pickle
import subprocess

import pytest

from avsep import media
from avsep.media import decode, decode_audio, decode_frames, probe
from avsep.media.ffmpeg import ffmpeg_exe


def _raises(error, path, call):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, media.DecodeError)
    assert path.name in str(info.value) and str(info.value).startswith(str(path))
    return info.value


def test_missing_and_empty_files(tmp_path):
    _raises(media.MissingFile, tmp_path / "nope.mp4", lambda: decode(tmp_path / "nope.mp4"))
    (tmp_path / "empty.mp4").write_bytes(b"")
    _raises(media.EmptyFile, tmp_path / "empty.mp4", lambda: probe(tmp_path / "empty.mp4"))


def test_garbage_and_truncated_files_are_corrupt(tmp_path, clip):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 40)
    _raises(media.CorruptFile, garbage, lambda: decode(garbage))
    cut = tmp_path / "cut.mp4"  # moov atom at the end: the header is gone
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    _raises(media.CorruptFile, cut, lambda: probe(cut))


def test_truncated_data_after_an_intact_header_is_corrupt_not_short(tmp_path, clip_factory):
    whole = clip_factory("faststart.mp4", duration=3.0, size=(128, 96))
    moved = tmp_path / "moved.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(moved)],
        check=True,
    )
    cut = tmp_path / "cut data.mp4"
    cut.write_bytes(moved.read_bytes()[: moved.stat().st_size // 2])
    assert probe(cut).duration_s == pytest.approx(3.0, abs=0.05)  # the header still promises 3 s
    error = _raises(media.CorruptFile, cut, lambda: decode(cut, fps=4, sample_rate=8000, short="pad"))
    assert "truncated" in error.reason


def test_missing_streams(clip_factory):
    silent = clip_factory("silent.mp4", audio=False, duration=0.5)
    _raises(media.NoAudioStream, silent, lambda: decode(silent))
    frames = decode_frames(silent, fps=4).frames
    assert frames is not None and frames.shape == (2, 48, 64, 3)
    blind = clip_factory("blind.m4a", video=False, duration=0.5)
    _raises(media.NoVideoStream, blind, lambda: decode_frames(blind))
    audio = decode_audio(blind, sample_rate=8000).audio
    assert audio is not None and audio.shape == (4000,)


def test_start_beyond_end(clip):
    _raises(media.StartBeyondEnd, clip, lambda: decode(clip, 3.5, 4.0))


def test_unsupported_codec(tmp_path, clip):
    data = bytearray(clip.read_bytes())
    at = data.index(b"avc1", data.index(b"stsd"))
    data[at : at + 4] = b"zzz9"  # a sample-entry tag no decoder knows
    odd = tmp_path / "unknown codec.mp4"
    odd.write_bytes(bytes(data))
    info = probe(odd)
    assert info.video is not None and info.video.codec == "none"
    _raises(media.UnsupportedCodec, odd, lambda: decode(odd))
    # ffmpeg's own complaint is recognised too when the probe was fooled
    fooled = dataclasses.replace(info, video=dataclasses.replace(info.video, codec="h264"))
    _raises(media.UnsupportedCodec, odd, lambda: decode(odd, info=fooled))


def test_clip_too_short_when_refused(clip):
    _raises(media.ClipTooShort, clip, lambda: decode(clip, 2.0, 5.0, short="refuse"))


def test_video_too_large(clip):
    error = _raises(media.VideoTooLarge, clip, lambda: decode(clip, max_pixels=64 * 48 - 1))
    assert "64x48" in error.reason


def test_timeouts(clip):
    _raises(media.DecodeTimeout, clip, lambda: probe(clip, timeout_s=1e-4))
    info = probe(clip)  # skip probing so that the decoding pass itself runs out of time
    _raises(media.DecodeTimeout, clip, lambda: decode(clip, info=info, timeout_s=1e-4))


def test_errors_survive_pickling_for_worker_processes(clip):
    error = pickle.loads(pickle.dumps(media.ClipTooShort(clip, "clip too short")))
    assert type(error) is media.ClipTooShort and str(error) == f"{clip}: clip too short"
