import hashlib

import numpy as np
import pytest

from avsep.media import EncodeError, decode, encode, probe


def _inputs(t=12, h=32, w=48, rate=16000, seconds=0.5):
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.stack(
        [np.stack([(xx * 5 + 7 * i) % 256, (yy * 7) % 256, np.full_like(xx, 40 * (i % 6))], -1) for i in range(t)]
    ).astype(np.uint8)  # smooth gradients survive H.264 well
    audio = (0.5 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
    return frames, audio


def test_same_inputs_give_same_bytes_and_probe_matches(tmp_path):
    frames, audio = _inputs()
    a = encode(tmp_path / "a.mp4", frames, 24, audio, 16000)
    b = encode(tmp_path / "b b.mp4", frames, 24, audio, 16000)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    info = probe(a)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height, info.video.n_frames, info.video.codec) == (48, 32, 12, "h264")
    assert info.video.fps == 24
    assert (info.audio.sample_rate, info.audio.channels, info.audio.codec) == (44100, 2, "aac")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b b.mp4"]  # no partial files left
    assert b"Lavf" not in a.read_bytes()  # bitexact: no muxer version tag


def test_round_trip_keeps_pictures_and_tone(tmp_path):
    frames, audio = _inputs()
    path = encode(tmp_path / "rt.mp4", frames, 24, audio, 16000, crf=10, gop=6)
    out = decode(path, fps=24, sample_rate=16000)
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape == frames.shape
    assert np.abs(out.frames.astype(int) - frames).mean() < 4
    peak_hz = np.argmax(np.abs(np.fft.rfft(out.audio))) * 16000 / len(out.audio)
    assert abs(peak_hz - 440) <= 4


def test_multichannel_input_and_output_layouts(tmp_path):
    frames, audio = _inputs()
    path = encode(tmp_path / "c.mp4", frames, 24, np.stack([audio, 0 * audio]), 16000, audio_rate=22050, channels=1)
    mono = probe(path).audio
    assert mono is not None and (mono.channels, mono.sample_rate) == (1, 22050)
    path = encode(tmp_path / "d.mp4", frames, 24, audio, 16000, channels=6)
    surround = probe(path).audio
    assert surround is not None and surround.channels == 6


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda f, a: (f[:, :31], a), "even"),
        (lambda f, a: (f.astype(np.float32), a), "uint8"),
        (lambda f, a: (f[..., :2], a), "(T, H, W, 3)"),
        (lambda f, a: (f[:0], a), "empty"),
        (lambda f, a: (f, a * 3), "[-1, 1]"),
        (lambda f, a: (f, np.full(10, np.nan, np.float32)), "NaN"),
        (lambda f, a: (f, a[None, None]), "(C, N)"),
    ],
)
def test_bad_input_is_refused_before_writing(tmp_path, change, words):
    frames, audio = change(*_inputs())
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        encode(tmp_path / "bad.mp4", frames, 24, audio, 16000)
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_names_file_and_leaves_nothing(tmp_path):
    frames, audio = _inputs()
    with pytest.raises(EncodeError, match=r"bad.mp4"):
        encode(tmp_path / "bad.mp4", frames, 24, audio, 16000, preset="no-such-preset")
    assert list(tmp_path.iterdir()) == []
