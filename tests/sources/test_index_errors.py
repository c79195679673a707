"""Bad indexes fail at once with the file, the line and the reason (or follow a documented policy)."""

import json

import pytest

from avsep.config import derive
from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, UnknownSourceError, load_source

HEADER = "url,start,end,labels\n"


def write(tmp_path, text: str | bytes, name="index.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def error_of(name, path, params=None) -> str:
    with pytest.raises(IndexFormatError) as info:
        load_source(name, path, params or DatasetParams())
    return str(info.value)


def test_non_utf8_bytes_name_line_and_byte(tmp_path):
    path = write(tmp_path, HEADER.encode() + b"http://h/a.mp4,0,1,cello\nhttp://h/b\xff.mp4,0,1,x\n")
    message = error_of("urls", path)
    assert str(path) in message and "line 3" in message and "0xff" in message


def test_nul_byte_names_its_line(tmp_path):
    path = write(tmp_path, HEADER + "http://h/a.mp4,0,1,ce\x00llo\n")
    assert "line 2: NUL byte" in error_of("urls", path)


def test_malformed_csv_quote(tmp_path):
    path = write(tmp_path, HEADER + 'http://h/a.mp4,0,1,"cello\n')
    message = error_of("urls", path)
    assert str(path) in message and "malformed CSV" in message


def test_wrong_field_count_is_an_invalid_row_of_its_own(tmp_path):
    path = write(tmp_path, HEADER + "http://h/a.mp4,0,1,cello\nhttp://h/b.mp4,0\n")
    good, bad = load_source("urls", path, DatasetParams())
    assert good.status == "pending" and bad.status == "invalid" and f"{path}: line 3: 2 fields" in bad.error


@pytest.mark.parametrize("text", ["", HEADER, "\n\n"])
def test_empty_index_is_an_error(tmp_path, text):
    assert "no clips" in error_of("urls", write(tmp_path, text)) or "header" in error_of("urls", write(tmp_path, text))


def test_missing_index_file(tmp_path):
    assert "not found" in error_of("urls", tmp_path / "nope.csv")


def test_duplicate_ids_error_names_both_lines_or_keep_first(tmp_path):
    music = {"videos": {"cello": ["dQw4w9WgXcQ"], "violin": ["abcdefghijk", "dQw4w9WgXcQ"]}}
    path = write(tmp_path, json.dumps(music), "music.json")
    message = error_of("music", path)
    assert "duplicate clip id 'music-dQw4w9WgXcQ'" in message and "videos/cello[0]" in message
    kept = load_source("music", path, DatasetParams(duplicates="first"))
    assert [r.labels for r in kept] == [["cello"], ["violin"]]


def test_unknown_label_error_or_drop(tmp_path):
    path = write(tmp_path, HEADER + "http://h/a.mp4,0,1,cello\nhttp://h/b.mp4,0,1,kazoo\n")
    closed = DatasetParams(vocabulary=["cello", "violin"])
    assert "line 3: unknown label 'kazoo'" in error_of("urls", path, closed)
    dropped = load_source("urls", path, derive(closed, {"unknown_label": "drop"}))
    assert [r.labels for r in dropped] == [["cello"], []]


def test_malformed_json_names_the_line(tmp_path):
    path = write(tmp_path, '{"videos": {\n"cello": ["dQw4w9WgXcQ",]\n}}', "music.json")
    message = error_of("music", path)
    assert str(path) in message and "line 2" in message and "not valid JSON" in message


def test_unknown_source_lists_the_known_ones(tmp_path):
    with pytest.raises(UnknownSourceError, match="known: world, music"):
        load_source("vimeo", tmp_path / "x")
