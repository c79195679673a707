"""The world's index.csv (docs/contracts.md) as records: ground-truth counts, paths inside the folder."""

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, load_source

HEADER = "clip_id,path,annotation,start_s,end_s,labels,visible,split,scene,n_sources\n"
ROWS = [
    "train-solo-000000,videos/train-solo-000000.mp4,annotations/train-solo-000000.json,0,4,cello,"
    '"cello,flute",train,solo,1\n',
    'test-k3-000001,videos/test-k3-000001.mp4,annotations/test-k3-000001.json,0,4,"cello,violin,violin",'
    '"cello,violin",test,k3,3\n',
]


def world_index(tmp_path, rows=ROWS):
    path = tmp_path / "world" / "index.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(HEADER + "".join(rows))
    return path


def test_rows_become_records_with_ground_truth(tmp_path):
    path = world_index(tmp_path)
    solo, k3 = load_source("world", path, DatasetParams())
    assert (solo.clip_id, solo.labels, solo.n_sources, solo.split) == ("train-solo-000000", ["cello"], 1, "train")
    assert solo.uri == (path.parent / "videos/train-solo-000000.mp4").resolve().as_uri()
    assert solo.annotation == str((path.parent / "annotations/train-solo-000000.json").resolve())
    assert solo.meta == {"scene": "solo", "visible": ["cello", "flute"]}
    assert (k3.n_sources, k3.labels, k3.end_s) == (3, ["cello", "violin"], 4.0)  # two violins: 3 sources


@pytest.mark.parametrize(
    "row, reason",
    [
        ("a,../../etc/x.mp4,,0,4,cello,cello,train,solo,1\n", "points outside"),
        ("a,/etc/x.mp4,,0,4,cello,cello,train,solo,1\n", "is absolute"),
        ("a,videos/a.mp4,,0,4,cello,cello,holdout,solo,1\n", "split 'holdout'"),
        ("a,videos/a.mp4,,4,4,cello,cello,train,solo,1\n", "end_s 4.0 <= start_s"),
        ("a,videos/a.mp4,,0,x,cello,cello,train,solo,1\n", "end_s 'x' is not a number"),
        ("a,videos/a.mp4,,0,nan,cello,cello,train,solo,1\n", "finite"),
        ("a,videos/a.mp4,,0,4,cello,cello,train,solo,one\n", "not an integer"),
        ("a,videos/a.mp4,,0,4,cello,cello,train,solo\n", "9 fields"),
    ],
)
def test_bad_rows_name_line_and_reason(tmp_path, row, reason):
    path = world_index(tmp_path, [ROWS[0], row])
    with pytest.raises(IndexFormatError) as info:
        load_source("world", path, DatasetParams())
    assert str(path) in str(info.value) and "line 3" in str(info.value) and reason in str(info.value)


def test_missing_column(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("clip_id,path\na,b.mp4\n")
    with pytest.raises(IndexFormatError, match="line 1: header lacks column"):
        load_source("world", path, DatasetParams())
