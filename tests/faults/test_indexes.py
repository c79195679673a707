"""Broken indexes stop the real flow before any work, with the file, the line and the reason; nothing is
written; the re-run with the index repaired completes."""

from __future__ import annotations

import json

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, load_source
from tests.faults.harness import WORLD_COLUMNS, manifest, run_flow, snapshot, tiny_mp4, world_row, write_world_index

HEADER = ",".join(WORLD_COLUMNS) + "\n"
GOOD = "good,good.mp4,,0,1,cello,cello,train,solo,1\n"
# case -> (source, index bytes, extra overrides, words the error must contain)
CASES = {
    "malformed-json": ("music", b'{"videos": {\n"cello": ["dQw4w9WgXcQ",]\n}}', [], ["line 2", "not valid JSON"]),
    "malformed-csv": (
        "world",
        (HEADER + 'good,good.mp4,,0,1,"cello,cello,train,solo,1\n').encode(),
        [],
        ["malformed CSV"],
    ),
    "unknown-label": (
        "world",
        (HEADER + GOOD.replace(",cello,cello,", ",kazoo,kazoo,")).encode(),
        ["dataset.vocabulary=[cello]"],
        ["line 2", "unknown label 'kazoo'"],
    ),
    "duplicate-ids": ("world", (HEADER + GOOD + GOOD).encode(), [], ["line 3", "duplicate clip id 'good'"]),
    "empty-index": ("world", HEADER.encode(), [], ["no clips"]),
    "non-utf8": (
        "world",
        HEADER.encode() + GOOD.replace("cello,cello", "cel\xfflo,cello").encode("latin-1"),
        [],
        ["line 2", "not UTF-8", "0xff"],
    ),
}


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("index-media")
    tiny_mp4(folder / "good.mp4")
    return folder


@pytest.mark.parametrize("case", list(CASES))
def test_broken_index(case, media_folder, prefect_api, tmp_path, reliability):
    source, data, extra, words = CASES[case]
    index = media_folder / f"{case}.{'json' if source == 'music' else 'csv'}"
    index.write_bytes(data)
    reliability["expected"] = f"IndexFormatError before any work naming the index and {', '.join(words)}"
    before = snapshot(tmp_path)
    with pytest.raises(IndexFormatError) as info:
        run_flow(tmp_path, index, prefect_api, source=source, extra=extra)
    message = str(info.value)
    reliability["observed"] = message.replace(f"{media_folder}/", "")
    assert message.startswith(str(index))
    for word in words:
        assert word in message
    assert snapshot(tmp_path) == before  # no data/ folder, no manifest, no partial file

    # Re-run with the index repaired.
    if source == "music":  # YouTube ids: fetching them needs the internet, so the repaired index is only read
        index.write_text(json.dumps({"videos": {"cello": ["dQw4w9WgXcQ"]}}))
        assert [r.clip_id for r in load_source("music", index, DatasetParams())] == ["music-dQw4w9WgXcQ"]
        return
    fixed = write_world_index(media_folder / f"{case}-fixed.csv", [world_row("good", "good.mp4")])
    summary = run_flow(tmp_path, fixed, prefect_api, extra=extra)
    assert summary["ok"] == 1 and list(manifest(tmp_path / "data").index) == ["good"]
