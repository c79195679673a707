"""safe_clip_id and ClipRecord: stable, filesystem-safe, length-limited ids; manifest round trip."""

import pandas as pd
import pytest

from avsep.sources.records import ClipRecord, is_safe_clip_id, safe_clip_id

HOSTILE = [
    "../../etc/passwd",
    "/abs/path",
    "a;b|c&d$(e)`f`>g<h",
    "new\nline",
    "nul\x00byte",
    "y" * 10_000,
    "..",
    ".",
    "-rf",
    ".hidden",
    "",
    "  ",
    "caf\u00e9 \u00e0 la carte",
    "\u6f22\u5b57",
    "a/../../b",
    "C:\\windows\\system32",
    "*?[]",
]


@pytest.mark.parametrize("raw", ["train-solo-000012", "music-dQw4w9WgXcQ", "a_b_c-d", "_x", "7"])
def test_safe_names_are_kept_unchanged(raw):
    assert safe_clip_id(raw) == raw


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_names_become_safe_short_stable_and_hashed(raw):
    clip_id = safe_clip_id(raw)
    assert is_safe_clip_id(clip_id), clip_id
    assert len(clip_id) <= 100
    assert clip_id == safe_clip_id(raw)  # stable
    assert clip_id != raw and len(clip_id.rsplit("-", 1)[1]) == 10  # changed, so a hash suffix
    assert "/" not in clip_id and ".." not in clip_id and not clip_id.startswith((".", "-"))


def test_distinct_names_that_map_alike_stay_distinct():
    assert safe_clip_id("a/b") != safe_clip_id("a b") != safe_clip_id("a_b")
    assert safe_clip_id("a" * 200) != safe_clip_id("a" * 201)


def test_length_limit_is_a_parameter():
    assert len(safe_clip_id("z" * 500, max_len=40)) == 40
    with pytest.raises(ValueError, match="too short"):
        safe_clip_id("x", max_len=5)


def test_unique_key_always_adds_its_hash():
    one = safe_clip_id("url-video", unique_key="http://a/video.mp4")
    two = safe_clip_id("url-video", unique_key="http://b/video.mp4")
    assert one != two and one.startswith("url-video-") and is_safe_clip_id(one)


def test_record_refuses_unsafe_ids():
    for bad in ["../x", "", "a b", "a.b", "-x", "x" * 201]:
        with pytest.raises(ValueError, match="not a valid id"):
            ClipRecord(clip_id=bad, source="s", uri="u")


def test_record_round_trips_through_parquet(tmp_path):
    record = ClipRecord(
        clip_id="c1",
        source="audioset",
        uri="youtube:dQw4w9WgXcQ",
        start_s=30.0,
        end_s=40.0,
        labels=["Violin, fiddle", "Cello"],
        meta={"mids": ["/m/07y_7", "/m/01xqw"]},
    )
    path = tmp_path / "m.parquet"
    pd.DataFrame([record.to_row()]).to_parquet(path)
    row = pd.read_parquet(path).iloc[0].to_dict()
    assert ClipRecord.from_row(row) == record


def test_open_ended_record_round_trips_and_extra_columns_are_ignored(tmp_path):
    records = [
        ClipRecord(clip_id="a", source="folder", uri="file:///x.mp4"),
        ClipRecord(clip_id="b", source="folder", uri="file:///y.mp4", end_s=2.5, labels=["cello"]),
    ]
    path = tmp_path / "m.parquet"
    frame = pd.DataFrame([r.to_row() for r in records]).assign(added_by_someone_else=1)
    frame.to_parquet(path)
    back = [ClipRecord.from_row(row) for row in pd.read_parquet(path).to_dict("records")]
    assert back == records


def test_a_cut_clip_round_trips_its_video_and_an_older_manifest_reads_without_one(tmp_path):
    from avsep.dataset.manifest import load_manifest, save_manifest

    clip = ClipRecord("v-00001", "folder", "file:///v.mp4", 6.0, 12.0, video_id="v")
    old = ClipRecord("w", "folder", "file:///w.mp4")
    frame = pd.DataFrame([clip.to_row(), old.to_row()]).drop(columns="video_id")  # written before the column
    save_manifest(pd.DataFrame([clip.to_row()]), tmp_path / "new.parquet")
    frame.to_parquet(tmp_path / "old.parquet")
    assert [ClipRecord.from_row(r) for r in load_manifest(tmp_path / "new.parquet").to_dict("records")] == [clip]
    back = [ClipRecord.from_row(r) for r in load_manifest(tmp_path / "old.parquet").to_dict("records")]
    assert [r.video_id for r in back] == ["", ""]


@pytest.mark.parametrize("raw", ["cello-take.2", "take 2", "caf\u00e9-\u6f22\u5b57", "a.b", "v1.0.mp4"])
def test_ids_from_any_name_pass_every_stage(raw, tmp_path):
    """Dots, spaces and unicode become one valid id that the per-clip store and the shard writer both accept."""
    from avsep.dataset.layout import Layout, write_clip_sample
    from avsep.io import is_valid_id
    from avsep.shards.writer import ShardWriter

    clip_id = safe_clip_id(raw)
    assert clip_id != raw and is_valid_id(clip_id) and "." not in clip_id
    assert clip_id == safe_clip_id(raw)  # deterministic
    path = Layout(tmp_path).clip_sample(clip_id)
    write_clip_sample(path, clip_id, {"txt": b"x"})
    with ShardWriter(tmp_path / "shards", "train", max_samples=4) as writer:
        writer.write(clip_id, {"txt": b"x"})


def test_an_id_the_shard_writer_refuses_is_refused_by_the_record_and_the_store(tmp_path):
    from avsep.dataset.layout import Layout
    from avsep.shards.writer import ShardWriteError, ShardWriter

    with pytest.raises(ValueError, match="not a valid id"):
        ClipRecord(clip_id="cello-take.2", source="folder", uri="file:///x.mp4")
    with pytest.raises(ValueError, match="not a valid id"):
        Layout(tmp_path).clip_sample("cello-take.2")
    with ShardWriter(tmp_path / "shards", "train", max_samples=4) as writer, pytest.raises(ShardWriteError):
        writer.write("cello-take.2", {"txt": b"x"})


def test_names_differing_only_in_dots_or_spaces_get_different_ids():
    names = ["take.2", "take 2", "take_2x", "take/2"]
    ids = [safe_clip_id(name) for name in names]
    assert len(set(ids)) == len(ids), ids
