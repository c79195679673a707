"""Cutting a video into clip records: the spans, the ids, what each clip inherits, the videos that yield none."""

from __future__ import annotations

import itertools
import math

import pytest

from avsep.config import derive, load_params
from avsep.dataset.cutting import CUT, clip_id_of, clip_spans, cut_video, cut_videos
from avsep.io import ID_MAX_LEN, is_valid_id
from avsep.sources.records import ClipRecord


@pytest.mark.parametrize(
    ("duration", "start", "end", "clip", "stride", "cap"),
    [
        (180.0, 0.0, None, 6.0, 6.0, 0),  # back to back: 30
        (180.0, 0.0, None, 6.0, 20.0, 0),  # strided: 9
        (180.0, 0.0, None, 6.0, 3.0, 0),  # overlapping: 59
        (180.0, 0.0, None, 6.0, 6.0, 4),  # capped
        (181.9, 10.0, None, 6.0, 6.0, 0),  # a partial last clip is dropped
        (180.0, 10.0, 40.0, 6.0, 6.0, 0),  # the record's own end
        (180.0, 0.0, 500.0, 6.0, 6.0, 0),  # an end past the media: the media's end
    ],
)
def test_the_clip_count_is_floor_of_the_room_over_the_stride_plus_one(duration, start, end, clip, stride, cap):
    spans = clip_spans(start, end, duration, clip, stride, cap)
    stop = duration if end is None else min(end, duration)
    expected = math.floor((stop - start - clip) / stride) + 1
    assert len(spans) == (min(expected, cap) if cap else expected)
    assert spans[0] == (start, start + clip) and all(b - a == pytest.approx(clip) for a, b in spans)
    assert all(b[0] - a[0] == pytest.approx(stride) for a, b in itertools.pairwise(spans))
    assert spans[-1][1] <= stop


def test_spans_are_exact_and_a_video_shorter_than_a_clip_has_none():
    assert clip_spans(0.0, None, 1.0, 0.3, 0.1, 0)[-1] == (0.7, 1.0)  # rounded: 0.1 * 7 + 0.3 is not 1.0 in floats
    assert clip_spans(0.0, None, 6.0, 6.0, 6.0, 0) == [(0.0, 6.0)]  # exactly one clip long
    assert clip_spans(0.0, None, 5.9, 6.0, 6.0, 0) == [] and clip_spans(3.0, None, 8.0, 6.0, 6.0, 0) == []


def test_clip_ids_sort_in_time_and_fit_any_video_id():
    assert [clip_id_of("music-abcdefghijk", i) for i in (0, 9, 10)] == [
        "music-abcdefghijk-00000",
        "music-abcdefghijk-00009",
        "music-abcdefghijk-00010",
    ]
    longest = "v" * ID_MAX_LEN  # a researcher's source may use the whole id length
    ids = [clip_id_of(longest, i) for i in range(3)]
    assert all(is_valid_id(i) and len(i) <= ID_MAX_LEN for i in ids) and len(set(ids)) == 3
    assert ids[1].endswith("-00001") and ids[1] != clip_id_of("v" * (ID_MAX_LEN - 1), 1)


@pytest.fixture
def params():
    return derive(
        load_params(None), {"build.clip_seconds": 6.0, "build.clip_stride_s": 10.0, "build.max_clips_per_video": 0}
    )


def test_a_clip_inherits_the_video_and_carries_its_id_and_span(params):
    video = ClipRecord(
        "music-abcdefghijk", "music", "youtube:abcdefghijk", labels=["cello", "flute"], n_sources=2,
        split="test", meta={"youtube_id": "abcdefghijk", "scene": "duet"}, start_s=5.0, end_s=40.0,
    )  # fmt: skip
    clips = cut_video(video, 120.0, params)
    assert [(c.start_s, c.end_s) for c in clips] == [(5.0, 11.0), (15.0, 21.0), (25.0, 31.0)]  # 35 s → 3 clips
    for clip in clips:
        assert (clip.video_id, clip.labels, clip.n_sources, clip.split) == (video.clip_id, video.labels, 2, "test")
        assert (clip.uri, clip.meta, clip.source) == (video.uri, video.meta, "music")
    assert video.video_id == "" and video.start_s == 5.0  # the video record itself is left as it was


def test_videos_without_a_duration_are_left_out_and_short_ones_keep_a_row(params):
    videos = [ClipRecord(name, "folder", f"file:///v/{name}.mp4") for name in ("a", "b", "c")]
    clips, short = cut_videos(videos, {"a": 30.0, "b": 4.0}, params)  # c failed to probe: the flow has its row
    assert [c.clip_id for c in clips] == ["a-00000", "a-00001", "a-00002"]
    assert [(r.clip_id, r.status, r.video_id) for r in short] == [("b", CUT, "b")]
    assert "4.000 s from 0 s holds no whole 6 s clip" in short[0].error


def test_a_clip_id_that_is_also_a_video_of_the_index_is_refused(params):
    videos = [ClipRecord("a", "lab", "file:///v/a.mp4"), ClipRecord("a-00000", "lab", "file:///v/a0.mp4")]
    with pytest.raises(ValueError, match="clip id 'a-00000' of video 'a' is also a video of the index"):
        cut_videos(videos, {"a": 30.0, "a-00000": 30.0}, params)
