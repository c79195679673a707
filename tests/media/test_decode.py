import numpy as np
import pytest

from avsep.media import ClipTooShort, decode, decode_audio, decode_frames


def _peak_hz(audio, rate):
    return np.argmax(np.abs(np.fft.rfft(audio))) * rate / len(audio)


def test_exact_shapes_resampled_to_fps_size_and_rate(clip, tone_hz):
    out = decode(clip, 0.5, 2.25, fps=8, size=(40, 30), sample_rate=11025)
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape == (14, 30, 40, 3) and out.frames.dtype == np.uint8
    assert out.audio.shape == (19294,) and out.audio.dtype == np.float32  # round(1.75 * 11025)
    assert out.valid_frames == 14 and out.valid_samples >= 19293  # atrim may round off one sample
    assert abs(_peak_hz(out.audio, 11025) - tone_hz) < 2
    assert len({frame.tobytes() for frame in out.frames}) == 14  # testsrc2 moves: every frame differs


def test_frame_k_is_the_picture_shown_at_start_plus_k_over_fps(clip):
    full = decode_frames(clip, fps=24).frames
    part = decode_frames(clip, 1.0, 2.0, fps=8).frames
    assert full is not None and part is not None
    np.testing.assert_array_equal(part, full[24:48:3])


def test_audio_segment_matches_the_same_span_of_the_whole(clip):
    whole = decode_audio(clip, sample_rate=16000).audio
    part = decode_audio(clip, 1.0, 2.0, sample_rate=16000).audio
    assert whole is not None and part is not None
    assert part.shape == (16000,)
    assert np.abs(part[200:-200] - whole[16200:31800]).max() < 1e-3


def test_native_rates_and_size_by_default(clip):
    out = decode(clip)
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape == (72, 48, 64, 3) and out.audio.shape == (48000,)
    assert (out.fps, out.sample_rate) == (24, 16000)


def test_short_clip_is_padded_with_last_frame_and_silence(clip):
    out = decode(clip, 2.0, 4.0, fps=4, sample_rate=8000, short="pad")
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape[0] == 8 and out.audio.shape == (16000,)
    assert (out.valid_frames, out.valid_samples) == (4, 8000)
    assert (out.frames[4:] == out.frames[3]).all() and not out.audio[8000:].any()


def test_short_clip_is_refused_on_request(clip):
    with pytest.raises(ClipTooShort, match=r"clip.mp4"):
        decode(clip, 2.0, 4.0, fps=4, sample_rate=8000, short="refuse")
    out = decode(clip, 2.0, 3.05, fps=4, sample_rate=8000, short="refuse")  # within short_tolerance_s
    assert out.frames is not None and out.audio is not None
    assert out.audio.shape == (8400,)


@pytest.mark.parametrize(
    "case",
    [
        dict(size=(319, 241)),
        dict(channels=2, audio_rate=8000),
        dict(channels=6, audio_rate=48000),
        dict(audio_rate=22050, fps=25),
        dict(fps=30, vfr=True),
    ],
)
def test_awkward_inputs_decode_to_exact_shapes(clip_factory, case, tone_hz):
    name = "_".join(f"{k}{v}" for k, v in case.items()).replace(" ", "").replace(",", "x") + ".mkv"
    path = clip_factory(name, duration=1.0, **case)
    out = decode(path, 0.0, 1.0, fps=10, sample_rate=16000)
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape == (10, *case.get("size", (64, 48))[::-1], 3)
    assert out.audio.shape == (16000,) and abs(_peak_hz(out.audio, 16000) - tone_hz) < 2


def test_paths_with_spaces_and_non_ascii_characters(clip_factory):
    path = clip_factory("dir with space/clip ünïcødé 日本 -x:y.mp4", duration=0.5)
    out = decode(path, fps=4, sample_rate=8000)
    assert out.frames is not None and out.audio is not None
    assert out.frames.shape == (2, 48, 64, 3) and out.audio.shape == (4000,)
