"""Box annotations of VGG-SS (JSON, fractions of the frame) and SoundNet-Flickr (a folder of XML, 256-px boxes per
annotator), in the published formats, read into fractions of the frame by clip key."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avsep.sources import IndexFormatError
from avsep.sources.boxes import load_boxes

CORRUPT = -2.8823037615171176e16  # a coordinate as the released vggss.json holds a few of

VGGSS = [
    {"file": "-d1KR2BSfHM_000065", "class": "squishing water", "bbox": [[0.05625, 0.13125, 0.7, 0.734375]]},
    {"file": "RDG7jY7P_8M_000088", "class": "penguins braying", "bbox": [[0, 0.5, 1, 1.0], [0.4, -0.1, 0.5, 0.2]]},
    {"file": "Db6Hjt0x28k_000056", "class": "x", "bbox": [[0.38, 0.85, 0.69, CORRUPT], [0.1, 0.1, 0.2, 0.2]]},
]


def write_json(tmp_path, data):
    path = tmp_path / "vggss.json"
    path.write_text(json.dumps(data))
    return path


def test_vggss_boxes_by_file_key_clipped_to_the_frame(tmp_path):
    truth = load_boxes(write_json(tmp_path, VGGSS))
    assert (truth.name, truth.gt, truth.origin) == ("vggss", "union", str(tmp_path / "vggss.json"))
    assert sorted(truth.boxes) == sorted(str(entry["file"]) for entry in VGGSS)
    np.testing.assert_array_equal(truth.boxes["RDG7jY7P_8M_000088"], [[0, 0.5, 1, 1], [0.4, 0, 0.5, 0.2]])
    # Clipped, the corrupt box ends before it starts: the released evaluation draws nothing for it.
    np.testing.assert_array_equal(truth.boxes["Db6Hjt0x28k_000056"], [[0.1, 0.1, 0.2, 0.2]])
    # The released code scales by 224 and truncates; the metrics floor the same pixel edges.
    np.testing.assert_allclose(truth.pixel_boxes("-d1KR2BSfHM_000065", 224), [[12.6, 29.4, 156.8, 164.5]])


@pytest.mark.parametrize(
    "data, match",
    [
        ({"file": "a"}, "expected a JSON list"),
        (
            [{"file": "a_000001", "bbox": [[0, 0, 1, 1]]}, {"file": "a_000001", "bbox": [[0, 0, 1, 1]]}],
            r"\[1\]: file 'a_000001' is annotated twice \(first at \[0\]\)",
        ),
        ([{"bbox": [[0, 0, 1, 1]]}], r"\[0\]: expected \{\"file\""),
        ([{"file": "a_000001", "bbox": []}], r"\[0\] \(a_000001\): bbox: expected a non-empty list"),
        ([{"file": "a_000001", "bbox": [[0, 0, 1]]}], r"\[0\] \(a_000001\): bbox\[0\]: expected 4 numbers"),
        ([{"file": "a_000001", "bbox": [[0, 0, "1", 1]]}], r"bbox\[0\]: expected 4 numbers"),
        ([], "no annotated clip"),
    ],
)
def test_vggss_errors_name_the_file_and_the_entry(tmp_path, data, match):
    path = write_json(tmp_path, data)
    with pytest.raises(IndexFormatError, match=match) as error:
        load_boxes(path)
    assert str(error.value).startswith(str(path))


def flickr_xml(*boxes):
    objects = "".join(
        f"<object><bbox><id>{n}</id><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax>"
        "</bbox></object>"
        for n, b in enumerate(boxes)
    )
    return f'<?xml version="1.0"?><annotation><file>x.jpg</file>{objects}</annotation>'


def test_flickr_folder_one_box_per_annotator_as_fractions(tmp_path):
    folder = tmp_path / "Annotations"
    folder.mkdir()
    (folder / "10000130166.xml").write_text(flickr_xml((0, 0, 256, 256), (64, 32, 128, 256)))
    (folder / "README.txt").write_text("not an annotation")
    truth = load_boxes(folder)
    assert (truth.name, truth.gt, list(truth.boxes)) == ("flickr", "consensus", ["10000130166"])
    np.testing.assert_array_equal(truth.boxes["10000130166"], [[0, 0, 1, 1], [0.25, 0.125, 0.5, 1]])
    # 256 -> 224 as the released code's int(224 * v / 256)
    np.testing.assert_array_equal(
        np.floor(truth.pixel_boxes("10000130166", 224)), [[0, 0, 224, 224], [56, 28, 112, 224]]
    )


def test_flickr_errors_name_the_file(tmp_path):
    folder = tmp_path / "Annotations"
    folder.mkdir()
    with pytest.raises(IndexFormatError, match=r"no <id>\.xml annotation file"):
        load_boxes(folder)
    (folder / "1.xml").write_text(flickr_xml((0, 0, 300, 10)))
    with pytest.raises(IndexFormatError, match=r"1.xml: bbox\[0\]: box \[0, 0, 300, 10\] is empty or outside"):
        load_boxes(folder)
