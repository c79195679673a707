"""Local-file sources: SoundNet-Flickr (XML boxes), ESC-50 (meta/esc50.csv) and a plain folder."""

import os

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, load_source
from avsep.sources.soundnet_flickr import read_boxes

XML = """<?xml version="1.0"?>
<annotation>
  <file>10000130166.jpg</file>
  <object><bbox><id>1</id><xmin>10</xmin><ymin>20</ymin><xmax>100</xmax><ymax>200</ymax></bbox></object>
  <object><bbox><id>2</id><xmin>12</xmin><ymin>22</ymin><xmax>110</xmax><ymax>210</ymax></bbox></object>
</annotation>
"""


def soundnet(tmp_path, items=("10000130166.jpg",), xml=XML):
    for folder in ("Annotations", "frames", "audio"):
        (tmp_path / folder).mkdir(exist_ok=True)
    for item in items:
        stem = item.removesuffix(".jpg")
        (tmp_path / "Annotations" / f"{stem}.xml").write_text(xml)
        (tmp_path / "frames" / f"{stem}.jpg").write_bytes(b"jpg")
        (tmp_path / "audio" / f"{stem}.mp3").write_bytes(b"mp3")
    index = tmp_path / "flickr_test.txt"
    index.write_text("\n".join(items) + "\n")
    return index


def test_soundnet_pairs_carry_every_annotators_box(tmp_path):
    (record,) = load_source("soundnet_flickr", soundnet(tmp_path), DatasetParams())
    assert record.clip_id == "flickr-10000130166" and record.split == "test"
    assert record.uri == (tmp_path / "audio" / "10000130166.mp3").resolve().as_uri()
    assert record.meta["boxes"] == [[10, 20, 100, 200], [12, 22, 110, 210]] and record.meta["box_frame"] == 256
    assert record.meta["frame"].endswith("frames/10000130166.jpg")
    # The XML is joined at evaluation time (--boxes), never parsed by the clip builder as the world's annotation.
    assert record.annotation == "" and record.meta["boxes_file"].endswith("Annotations/10000130166.xml")


def test_soundnet_positional_coordinates_are_read_too(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<a><o><bbox><n>x</n><v>1</v><v>2</v><v>30</v><v>40</v></bbox></o></a>")
    assert read_boxes(path) == [[1, 2, 30, 40]]


@pytest.mark.parametrize(
    "xml, reason",
    [
        ("<annotation><object>", "not valid XML"),
        ("<annotation/>", "no <bbox>"),
        ("<a><bbox><i>1</i><xmin>5</xmin><ymin>5</ymin><xmax>3</xmax><ymax>9</ymax></bbox></a>", "empty or outside"),
        ("<a><bbox><i>1</i><xmin>5</xmin><ymin>5</ymin><xmax>300</xmax><ymax>9</ymax></bbox></a>", "empty or outside"),
        ("<a><bbox><i>1</i><xmin>a</xmin><ymin>5</ymin><xmax>30</xmax><ymax>9</ymax></bbox></a>", "not numbers"),
    ],
)
def test_soundnet_bad_annotations(tmp_path, xml, reason):
    with pytest.raises(IndexFormatError, match=reason):
        load_source("soundnet_flickr", soundnet(tmp_path, xml=xml), DatasetParams())


def test_soundnet_missing_annotation_and_hostile_item(tmp_path):
    index = soundnet(tmp_path)
    index.write_text("10000130166\n999\n")
    with pytest.raises(IndexFormatError, match=r"line 2: annotation .* not found"):
        load_source("soundnet_flickr", index, DatasetParams())
    index.write_text("../../../etc/passwd\n")
    with pytest.raises(IndexFormatError, match="points outside"):
        load_source("soundnet_flickr", index, DatasetParams())


ESC_HEADER = "filename,fold,target,category,esc10,src_file,take\n"


def esc50(tmp_path, rows):
    (tmp_path / "meta").mkdir()
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "1-100032-A-0.wav").write_bytes(b"RIFF")
    index = tmp_path / "meta" / "esc50.csv"
    index.write_text(ESC_HEADER + "".join(rows))
    return index


def test_esc50_rows_are_one_source_clips_by_fold(tmp_path):
    index = esc50(tmp_path, ["1-100032-A-0.wav,1,0,dog,True,100032,A\n", "5-9032-A-0.wav,5,0,dog,True,9032,A\n"])
    first, second = load_source("esc50", index, DatasetParams())
    assert (first.clip_id, first.labels, first.n_sources, first.split) == ("esc50-1-100032-A-0", ["dog"], 1, "fold1")
    assert first.uri == (tmp_path / "audio" / "1-100032-A-0.wav").resolve().as_uri()
    assert second.split == "fold5" and second.meta == {"fold": 5, "target": 0}  # missing audio fails at fetch


@pytest.mark.parametrize(
    "row, reason",
    [
        ("1-1-A-0.wav,6,0,dog,True,1,A\n", "fold '6'"),
        ("1-1-A-0.wav,1,dog,dog,True,1,A\n", "target 'dog'"),
        ("../../x.wav,1,0,dog,True,1,A\n", "points outside"),
        ("1-1-A-0.wav,1,0,dog\n", "4 fields"),
    ],
)
def test_esc50_bad_rows(tmp_path, row, reason):
    with pytest.raises(IndexFormatError, match=f"line 2: .*{reason}"):
        load_source("esc50", esc50(tmp_path, [row]), DatasetParams())


def test_folder_labels_come_from_sub_folders(tmp_path):
    root = tmp_path / "videos"
    for rel in [
        "cello/a.mp4",
        "cello/deep/b.MP4",
        "violin/c.wav",
        "loose.mp4",
        "cello/notes.txt",
        "cello/.hidden.mp4",
        "cello/.x.mp4.partial",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    records = load_source("folder", root, DatasetParams())
    by_uri = {r.uri.rsplit("/videos/", 1)[1]: r for r in records}
    assert sorted(by_uri) == ["cello/a.mp4", "cello/deep/b.MP4", "loose.mp4", "violin/c.wav"]
    assert by_uri["cello/deep/b.MP4"].labels == ["cello"] and by_uri["loose.mp4"].labels == []
    assert by_uri["cello/a.mp4"].clip_id.startswith("cello-a-")
    assert [r.clip_id for r in load_source("folder", root, DatasetParams())] == [r.clip_id for r in records]


def test_a_top_level_train_val_test_folder_is_the_split_and_the_class_folder_is_under_it(tmp_path):
    root = tmp_path / "videos"
    for rel in ["train/cello/a.mp4", "val/flute/b.mp4", "test/cello/deep/c.mp4", "test/d.mp4", "cello/e.mp4"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    records = load_source("folder", root, DatasetParams())
    by_uri = {r.uri.rsplit("/videos/", 1)[1]: (r.split, r.labels) for r in records}
    assert by_uri == {
        "train/cello/a.mp4": ("train", ["cello"]),
        "val/flute/b.mp4": ("val", ["flute"]),
        "test/cello/deep/c.mp4": ("test", ["cello"]),
        "test/d.mp4": ("test", []),
        "cello/e.mp4": ("", ["cello"]),  # no split level: the build hashes the video id
    }


def test_folder_never_follows_links_outside(tmp_path):
    root, outside = tmp_path / "videos", tmp_path / "secret"
    (root / "cello").mkdir(parents=True)
    outside.mkdir()
    (outside / "s.mp4").write_bytes(b"x")
    (root / "cello" / "ok.mp4").write_bytes(b"x")
    os.symlink(outside / "s.mp4", root / "cello" / "link.mp4")
    os.symlink(outside, root / "linked_dir")
    records = load_source("folder", root, DatasetParams())
    assert [r.uri.rsplit("/", 1)[1] for r in records] == ["ok.mp4"]


def test_folder_errors(tmp_path):
    with pytest.raises(IndexFormatError, match="needs a folder"):
        load_source("folder", tmp_path / "nope", DatasetParams())
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match="no clips"):
        load_source("folder", tmp_path / "empty", DatasetParams())
    (tmp_path / "bad\nname").mkdir()
    (tmp_path / "bad\nname" / "a.mp4").write_bytes(b"x")
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "take.2.mp4").write_bytes(b"x")
    records = {r.status: r for r in load_source("folder", tmp_path, DatasetParams())}
    assert sorted(records) == ["invalid", "pending"]  # the bad name is a row of its own; the other file stays
    assert "control character" in records["invalid"].error and records["invalid"].uri == ""
    assert records["pending"].clip_id.startswith("good-take_2-")
