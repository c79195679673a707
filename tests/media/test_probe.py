import pytest

from avsep.media import probe
from avsep.media.probe import parse_header


def test_probe_reports_streams_and_counts_frames(clip):
    info = probe(clip)
    assert info.video is not None and info.audio is not None
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert (info.video.width, info.video.height, info.video.fps, info.video.n_frames) == (64, 48, 24, 72)
    assert (info.audio.sample_rate, info.audio.channels, info.audio.codec) == (16000, 1, "aac")
    uncounted = probe(clip, count_frames=False).video
    assert uncounted is not None and uncounted.n_frames is None


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_layouts(clip_factory, channels):
    path = clip_factory(f"ch{channels}.mp4", video=False, audio_rate=48000, channels=channels, duration=0.5)
    info = probe(path)
    assert info.audio is not None
    assert info.video is None and (info.audio.channels, info.audio.sample_rate) == (channels, 48000)


def test_variable_frame_rate_counts_real_frames(clip_factory):
    info = probe(clip_factory("vfr.mkv", fps=30, vfr=True, audio=False))
    assert info.video is not None
    assert info.video.n_frames == 28 and info.audio is None  # 28 of 60 frames kept at irregular times


def test_header_parsing_handles_rotation_cover_art_and_unnamed_layouts():
    header = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 1 kb/s
  Stream #0:0[0x1](und): Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 300x300, 90k tbn (attached pic)
  Stream #0:1[0x2](eng): Video: h264 (High) (avc1 / 0x31637661), \
yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], \
29.97 fps, 29.97 tbr, 30k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:2[0x3](und): Audio: pcm_s16le, 32000 Hz, 3 channels, s16, 1536 kb/s
"""
    info = parse_header("x.mp4", header)
    assert info.video is not None and info.audio is not None
    assert info.duration_s == pytest.approx(62.5)
    assert (info.video.width, info.video.height, info.video.fps, info.video.codec) == (1080, 1920, 29.97, "h264")
    assert (info.audio.sample_rate, info.audio.channels, info.audio.codec) == (32000, 3, "pcm_s16le")


def test_damage_message_does_not_depend_on_which_decoder_wrote_first():
    from avsep.media.decode import DAMAGE_MARKERS
    from avsep.media.probe import first_error, marked_error

    video = "[h264 @ 0x55d0c1a2b3c0] Invalid NAL unit size (1209 > 1024)."
    audio = "[aac @ 0x55d0c1a2b9f0] decode_pce: Input buffer exhausted before END element found"
    damage = "[in#0/mov,mp4 @ 0x55d0c1a2a100] Error splitting the input into NAL units."
    orders = ["\n".join(lines) for lines in ([video, audio, damage], [audio, damage, video], [damage, audio, video])]
    assert len({first_error(text) for text in orders}) == 3  # what the message used to be: the first line
    assert {marked_error(text, DAMAGE_MARKERS) for text in orders} == {"Error splitting the input into NAL units."}
    assert marked_error(audio, DAMAGE_MARKERS) is None
