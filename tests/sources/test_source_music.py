"""MUSIC JSON: solo, duet (space-joined keys) and MUSIC21; counts 1/2; DSOL test split; strict IDs."""

import json

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, is_safe_clip_id, load_source

SOLO = {"version": 1.0, "videos": {"cello": ["aaaaaaaaaa1", "aaaaaaaaaa2", "aaaaaaaaaa3"], "violin": ["bbbbbbbbbb1"]}}
DUET = {"videos": {"acoustic_guitar violin": ["ccccccccc-1", "ccccccccc_2", "ccccccccc-3"]}}


def write(tmp_path, data, name="index.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_solo_records_count_one_and_split_like_dsol(tmp_path):
    records = load_source("music", write(tmp_path, SOLO), DatasetParams(music_test_per_class=2))
    assert [r.clip_id for r in records] == [
        "music-aaaaaaaaaa1",
        "music-aaaaaaaaaa2",
        "music-aaaaaaaaaa3",
        "music-bbbbbbbbbb1",
    ]
    assert [r.split for r in records] == ["test", "test", "train", "test"]
    assert {r.n_sources for r in records} == {1} and records[0].labels == ["cello"]
    assert records[0].uri == "youtube:aaaaaaaaaa1" and records[0].meta["scene"] == "solo"


def test_duet_keys_give_two_labels_and_two_sources(tmp_path):
    records = load_source("music", write(tmp_path, DUET), DatasetParams())
    assert all(r.labels == ["acoustic_guitar", "violin"] and r.n_sources == 2 for r in records)
    assert [r.split for r in records] == ["test", "test", "train"]


def test_music21_with_a_closed_vocabulary(tmp_path):
    music21 = {"videos": {"bagpipe": ["ddddddddddd"], "cello": ["eeeeeeeeeee"]}}
    path = write(tmp_path, music21)
    assert len(load_source("music", path, DatasetParams(vocabulary=["bagpipe", "cello"]))) == 2
    with pytest.raises(IndexFormatError, match="unknown label 'bagpipe'"):
        load_source("music", path, DatasetParams(vocabulary=["cello"]))
    kept = load_source("music", path, DatasetParams(vocabulary=["cello"], unknown_label="drop"))
    assert [r.labels for r in kept] == [["cello"]]


@pytest.mark.parametrize(
    "data, where, reason",
    [
        ({"videos": {"cel\nlo": ["aaaaaaaaaa1"]}}, "videos/cel", "control character"),
        ({"clips": []}, "videos", "expected"),
        ({"videos": {}}, None, "no clips"),
    ],
)
def test_bad_music_files(tmp_path, data, where, reason):
    path = write(tmp_path, data)
    with pytest.raises(IndexFormatError) as info:
        load_source("music", path, DatasetParams())
    message = str(info.value)
    assert message.startswith(str(path)) and reason in message and (where is None or where in message)


def test_malformed_entries_become_invalid_rows_and_the_valid_ones_stay(tmp_path):
    bad = {"/etc/passwd": "not a YouTube video ID", "a;b": "not a YouTube video ID", 7: "got int"}
    data = {"videos": {"cello": ["aaaaaaaaaa1", "/etc/passwd", "a;b", 7, "bbbbbbbbbb2"], "flute": ["a;b"]}}
    path = write(tmp_path, data)
    records = load_source("music", path, DatasetParams())
    valid = [r for r in records if r.status != "invalid"]
    invalid = [r for r in records if r.status == "invalid"]
    assert [r.meta["youtube_id"] for r in valid] == ["aaaaaaaaaa1", "bbbbbbbbbb2"]
    assert len(invalid) == 4 and len({r.clip_id for r in records}) == len(records)  # "a;b" twice: two rows
    for record, (text, reason) in zip(invalid[:3], bad.items(), strict=True):
        assert record.error.startswith(str(path)) and reason in record.error, record.error
        if isinstance(text, str):
            assert repr(text) in record.error, record.error
        assert record.uri == "" and record.labels == ["cello"] and is_safe_clip_id(record.clip_id)
    assert "videos/flute[0]" in invalid[3].error
    assert [r.clip_id for r in load_source("music", path, DatasetParams())] == [r.clip_id for r in records]


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("flute", "aaaaaaaaaa1", "expected a list"),
        ("a b c", ["aaaaaaaaaa1"], "neither a class nor"),
        ("flute flute", ["aaaaaaaaaa1"], "neither a class nor"),
    ],
)
def test_a_malformed_class_entry_is_one_invalid_row(tmp_path, key, value, reason):
    path = write(tmp_path, {"videos": {"cello": ["bbbbbbbbbb2"], key: value}})
    good, bad = sorted(load_source("music", path, DatasetParams()), key=lambda r: r.status != "pending")
    assert good.meta["youtube_id"] == "bbbbbbbbbb2" and good.status == "pending"
    assert bad.status == "invalid" and bad.error.startswith(f"{path}: videos/{key}: ") and reason in bad.error
