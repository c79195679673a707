"""URL lists: http(s) only, optional section and labels, ids unique per URL and section, hostile names."""

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, is_safe_clip_id, load_source

HEADER = "url,start,end,labels\n"


def urls(tmp_path, rows):
    path = tmp_path / "urls.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def test_rows_become_records(tmp_path):
    path = urls(tmp_path, ['https://a.org/v/clip.mp4,1.5,4,"cello,violin"\n', "http://b.org/x/clip.mp4,,,\n"])
    first, second = load_source("urls", path, DatasetParams())
    assert (first.uri, first.start_s, first.end_s, first.labels) == (
        "https://a.org/v/clip.mp4",
        1.5,
        4.0,
        ["cello", "violin"],
    )
    assert (second.start_s, second.end_s, second.labels) == (0.0, None, [])
    assert first.clip_id.startswith("url-clip-") and second.clip_id.startswith("url-clip-")
    assert first.clip_id != second.clip_id  # same basename, different hosts


def test_an_optional_split_column_names_each_rows_split(tmp_path):
    path = tmp_path / "urls.csv"
    rows = ["https://a.org/a.mp4,,,cello,val\n", "https://a.org/b.mp4,,,,\n", "https://a.org/c.mp4,,,,dev\n"]
    path.write_text("url,start,end,labels,split\n" + "".join(rows))
    records = load_source("urls", path, DatasetParams())
    assert [(r.uri.rsplit("/", 1)[1], r.split, r.status) for r in records[:2]] == [
        ("a.mp4", "val", "pending"),
        ("b.mp4", "", "pending"),  # empty: the build decides
    ]
    assert records[2].status == "invalid" and "line 4: split 'dev' is not one of train, val, test" in records[2].error
    assert load_source("urls", urls(tmp_path, ["https://a.org/a.mp4,,,\n"]), DatasetParams())[0].split == ""


def test_same_url_two_sections_are_two_clips_but_a_repeat_is_a_duplicate(tmp_path):
    path = urls(tmp_path, ["https://a.org/v.mp4,0,5,\n", "https://a.org/v.mp4,5,10,\n"])
    assert len(load_source("urls", path, DatasetParams())) == 2
    path = urls(tmp_path, ["https://a.org/v.mp4,0,5,\n", "https://a.org/v.mp4,0,5,\n"])
    with pytest.raises(IndexFormatError, match=r"line 3: duplicate clip id .*first at 2"):
        load_source("urls", path, DatasetParams())


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://a.org/v.mp4",
        "javascript:alert(1)",
        "/etc/passwd",
        "https:///nohost.mp4",
        '"data:video/mp4;base64,AAAA"',
        '"https://a.org/a b.mp4"',
    ],
)
def test_non_http_urls_become_invalid_rows_and_the_others_stay(tmp_path, url):
    path = urls(tmp_path, [f"{url},0,1,\n", "https://a.org/ok.mp4,0,1,\n"])
    bad, good = load_source("urls", path, DatasetParams())
    assert bad.status == "invalid" and bad.uri == "" and f"{path}: line 2: url" in bad.error
    assert good.status == "pending" and good.uri == "https://a.org/ok.mp4"


@pytest.mark.parametrize(
    "path_part",
    ["../../../../etc/passwd", "%2e%2e%2f%2e%2e%2fescape", "a;rm%20-rf%20~;b|&>", "$(id)`id`", "x" * 10_000],
)
def test_hostile_url_paths_give_safe_ids(tmp_path, path_part):
    (record,) = load_source("urls", urls(tmp_path, [f'"https://a.org/{path_part}",0,1,\n']), DatasetParams())
    assert is_safe_clip_id(record.clip_id) and len(record.clip_id) <= 100


@pytest.mark.parametrize("label, reason", [('"ce\nllo"', "control character"), ("x" * 300, "300 characters")])
def test_hostile_labels_are_refused(tmp_path, label, reason):
    with pytest.raises(IndexFormatError, match=reason):
        load_source("urls", urls(tmp_path, [f"https://a.org/v.mp4,0,1,{label}\n"]), DatasetParams())


def test_header_is_required(tmp_path):
    path = tmp_path / "urls.csv"
    path.write_text("https://a.org/v.mp4,0,1,\n")
    with pytest.raises(IndexFormatError, match="line 1: header must be url,start,end,labels"):
        load_source("urls", path, DatasetParams())
