"""The VGGSound source: vggsound.csv as published (no header, quoted labels with commas, leading-dash ids), label
merging, malformed rows as invalid rows, and clips already on disk used in place of YouTube."""

from __future__ import annotations

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, SourceError, load_source
from avsep.sources.records import INVALID

CSV = """-0BKyt8iZ1I,30,"donkey, ass braying",train
plainid0001,0,dog barking,test
plainid0001,0,"dog howling",test
plainid0001,0,dog barking,test
notavalid id,5,cow lowing,test
only,three,fields
fractional1,2.5,cat purring,train
splitless01,4,cat purring,validation
conflicted1,7,owl hooting,train
conflicted1,7,owl hooting,test
"""


def write_index(tmp_path, text=CSV, name="vggsound.csv"):
    index = tmp_path / name
    index.write_text(text, encoding="utf-8")
    return index


def by_id(records):
    return {r.clip_id: r for r in records}


def test_rows_become_ten_second_youtube_clips_with_merged_labels(tmp_path):
    records = by_id(load_source("vggsound", write_index(tmp_path), DatasetParams()))
    dash = records["vggsound--0BKyt8iZ1I_000030"]
    assert dash.uri == "youtube:-0BKyt8iZ1I" and (dash.start_s, dash.end_s) == (30.0, 40.0)
    assert dash.labels == ["donkey, ass braying"] and dash.split == "train" and dash.status == "pending"
    assert dash.meta == {"youtube_id": "-0BKyt8iZ1I", "source_key": "-0BKyt8iZ1I_000030", "youtube_start_s": 30}
    plain = records["vggsound-plainid0001_000000"]
    assert plain.labels == ["dog barking", "dog howling"] and plain.split == "test"
    assert (plain.start_s, plain.end_s) == (0.0, 10.0)


def test_malformed_rows_are_invalid_rows_naming_their_line(tmp_path):
    records = load_source("vggsound", write_index(tmp_path), DatasetParams())
    errors = sorted(r.error for r in records if r.status == INVALID)
    assert len(errors) == 5 and len(records) == 7
    reasons = {
        "line 5: not a YouTube video ID",
        "line 6: 3 fields; expected youtube_id, start_seconds, label, split",
        "line 7: start_seconds '2.5' is not a whole number",
        "line 8: split 'validation' is not one of train, test",
        "line 10: clip conflicted1_000007 is in split 'test' here, 'train' at line 9",
    }
    for reason in reasons:
        assert sum(reason in error for error in errors) == 1, (reason, errors)
    assert all(error.startswith(str(tmp_path / "vggsound.csv")) for error in errors)


def test_a_header_row_is_optional_and_an_unparseable_file_stops(tmp_path):
    with_header = write_index(tmp_path, "youtube_id,start_seconds,label,split\n" + CSV)
    assert len(load_source("vggsound", with_header, DatasetParams())) == 7
    with pytest.raises(IndexFormatError, match=r"line 1: malformed CSV"):
        load_source("vggsound", write_index(tmp_path, 'abcdefghijk,1,"never closed\n'), DatasetParams())
    with pytest.raises(IndexFormatError, match="index has no clips"):
        load_source("vggsound", write_index(tmp_path, "youtube_id,start_seconds,label,split\n"), DatasetParams())


def test_clips_on_disk_replace_youtube(tmp_path):
    media = tmp_path / "video"
    media.mkdir()
    (media / "-0BKyt8iZ1I_000030.mp4").write_bytes(b"mp4")
    (media / "-0BKyt8iZ1I_000030.webm").write_bytes(b"webm")  # the first of folder_extensions wins
    (media / "plainid0001_000010.mp4").write_bytes(b"another clip of the video")
    params = DatasetParams(media_dir="video")
    records = by_id(load_source("vggsound", write_index(tmp_path), params))
    local = records["vggsound--0BKyt8iZ1I_000030"]
    assert local.uri == (media / "-0BKyt8iZ1I_000030.mp4").resolve().as_uri()
    assert (local.start_s, local.end_s) == (0.0, None) and local.meta["youtube_start_s"] == 30
    assert records["vggsound-plainid0001_000000"].uri == "youtube:plainid0001"
    with pytest.raises(SourceError, match=r"dataset\.media_dir = 'nowhere'"):
        load_source("vggsound", write_index(tmp_path), DatasetParams(media_dir="nowhere"))


def test_vocabulary_drops_clips_without_a_kept_label(tmp_path):
    params = DatasetParams(vocabulary=["dog barking"], unknown_label="drop")
    records = [r for r in load_source("vggsound", write_index(tmp_path), params) if r.status != INVALID]
    assert [(r.clip_id, r.labels) for r in records] == [("vggsound-plainid0001_000000", ["dog barking"])]
