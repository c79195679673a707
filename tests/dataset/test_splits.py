"""Splits decided per video: a source's own split is kept; otherwise a stable hash of the video's key, which no
other video changes; ``build.split_ratios`` is validated."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from avsep.config import ParamsError, derive, load_params
from avsep.dataset.cutting import cut_video
from avsep.dataset.splits import hash_fraction, hash_split, split_key, with_splits
from avsep.sources.records import ClipRecord

RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}


def test_the_hash_split_is_pinned_and_independent_of_other_videos():
    # Pinned: sha256's first 8 bytes as a fraction; a change here would move every video of every built dataset.
    assert hash_fraction("video-13") == int.from_bytes(hashlib.sha256(b"video-13").digest()[:8], "big") / 2**64
    assert [hash_split(f"video-{i}", RATIOS) for i in (12, 13, 21)] == ["train", "test", "val"]
    alone = with_splits([ClipRecord("video-21", "folder", "file:///v/21.mp4")], RATIOS)
    among = with_splits([ClipRecord(f"video-{i}", "folder", f"file:///v/{i}.mp4") for i in range(40)], RATIOS)
    assert alone[0].split == "val" and {r.clip_id: r.split for r in among}["video-21"] == "val"


def test_hash_splits_follow_the_ratios_and_a_zero_share_is_never_picked():
    counts = Counter(hash_split(f"v{i}", RATIOS) for i in range(5000))
    assert abs(counts["train"] / 5000 - 0.8) < 0.03 and abs(counts["test"] / 5000 - 0.1) < 0.02
    assert {hash_split(f"v{i}", {"train": 0.5, "test": 0.5}) for i in range(200)} == {"train", "test"}
    assert {hash_split(f"v{i}", {"val": 1.0}) for i in range(50)} == {"val"}


def test_a_source_split_is_kept_and_the_key_is_the_video_not_its_place():
    given = ClipRecord("music-abcdefghijk", "music", "youtube:abcdefghijk", split="test")
    assert with_splits([given], {"train": 1.0})[0].split == "test"
    # AudioSet segments of one YouTube video share a key, so they share a split; a URL is its own key.
    a = ClipRecord("audioset-abcdefghijk-30000", "audioset", "youtube:abcdefghijk", meta={"youtube_id": "abcdefghijk"})
    b = ClipRecord("audioset-abcdefghijk-90000", "audioset", "youtube:abcdefghijk", meta={"youtube_id": "abcdefghijk"})
    assert split_key(a) == split_key(b) == "youtube:abcdefghijk"
    url = "https://example.org/v/a.mp4"
    assert split_key(ClipRecord("url-a-0123456789", "urls", url, 0.0, 5.0)) == url
    # A local file's key is its id (from the index), not its path: a moved dataset keeps its splits.
    local = [ClipRecord("cello-a-0123456789", "folder", f"file:///{disk}/cello/a.mp4") for disk in ("d1", "d2")]
    assert {split_key(r) for r in local} == {"cello-a-0123456789"}


def test_the_clips_of_a_video_share_its_split():
    params = derive(load_params(None), {"build.clip_seconds": 2.0, "build.max_clips_per_video": 0})
    (video,) = with_splits([ClipRecord("video-13", "folder", "file:///v/13.mp4")], RATIOS)
    clips = cut_video(video, 20.0, params)
    assert len(clips) == 10 and {c.split for c in clips} == {"test"} and {split_key(c) for c in clips} == {"video-13"}


@pytest.mark.parametrize(
    ("ratios", "reason"),
    [
        ({"train": 0.8, "dev": 0.2}, "unknown split"),
        ({"train": 1.2, "test": -0.2}, ">= 0"),
        ({"train": 0.8, "test": 0.1}, "sum to 1"),
    ],
)
def test_split_ratios_are_validated(ratios, reason):
    with pytest.raises(ParamsError, match=f"build.split_ratios.*{reason}"):
        derive(load_params(None), {"build.split_ratios": ratios})


def test_cutting_needs_a_clip_length():
    with pytest.raises(ParamsError, match=r"max_clips_per_video = 0: .*build\.clip_seconds"):
        derive(load_params(None), {"build.max_clips_per_video": 0})
    assert derive(load_params(None), {"build.max_clips_per_video": 1}).build.clip_seconds is None  # the default
