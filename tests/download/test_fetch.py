"""fetch(): dispatch by URI, reuse of finished downloads, the permanent-failure ledger, hostile names."""

import threading

import pytest

from avsep.config.dataset import DatasetParams, DownloadParams
from avsep.download import FailureLedger, fetch, ledger_of
from avsep.download.errors import DownloadError
from avsep.download.ledger import LedgerError
from avsep.sources.records import ClipRecord, safe_clip_id

from .server import http_server  # noqa: F401 - pytest fixture

BODY = b"\x00\x01media" * 500
PARAMS = DownloadParams(retries=1, backoff_s=0.0, timeout_s=0.5)


def record(uri: str, clip_id: str = "clip1", **kw) -> ClipRecord:
    return ClipRecord(clip_id=clip_id, source="urls", uri=uri, **kw)


@pytest.fixture
def server(http_server):  # noqa: F811
    http_server.files["a.mp4"] = BODY
    return http_server


def test_http_record_is_fetched_once_then_reused(server, tmp_path):
    dest = tmp_path / "raw"
    first = fetch(record(server.url("/files/a.mp4")), dest, PARAMS)
    assert first.read_bytes() == BODY
    again = fetch(record(server.url("/files/a.mp4")), dest, PARAMS)
    assert again == first and server.hits["/files/a.mp4"] == 1


def test_clips_cut_from_one_video_share_its_one_download(server, tmp_path):
    uri = server.url("/files/a.mp4")
    clips = [record(uri, f"video-a-{i:05d}", start_s=6.0 * i, end_s=6.0 * i + 6, video_id="video-a") for i in range(3)]
    paths = {fetch(clip, tmp_path, PARAMS) for clip in clips}
    assert [p.name for p in paths] == ["video-a.mp4"] and server.hits["/files/a.mp4"] == 1


def test_dataset_section_is_accepted_as_params(server, tmp_path):
    path = fetch(record(server.url("/files/a.mp4")), tmp_path, DatasetParams())
    assert path.read_bytes() == BODY


def test_permanent_failure_is_recorded_and_not_retried_next_run(server, tmp_path):
    uri = server.url("/status/404")
    with pytest.raises(DownloadError) as first:
        fetch(record(uri), tmp_path, PARAMS)
    assert first.value.permanent
    assert "404" in (ledger_of(tmp_path, PARAMS).reason(uri) or "")
    with pytest.raises(DownloadError) as second:
        fetch(record(uri), tmp_path, PARAMS)
    assert "earlier run" in second.value.reason and "404" in second.value.reason
    assert server.hits["/status/404"] == 1  # the second run never touched the network


def test_transient_failure_is_not_recorded(server, tmp_path):
    uri = server.url("/status/503")
    for _ in range(2):
        with pytest.raises(DownloadError):
            fetch(record(uri), tmp_path, PARAMS, sleep=lambda s: None)
    assert ledger_of(tmp_path, PARAMS).reason(uri) is None
    assert server.hits["/status/503"] == 4  # two runs, two attempts each


def test_forgetting_a_ledger_entry_allows_a_retry(server, tmp_path):
    uri = server.url("/flaky/1/a.mp4")
    FailureLedger(tmp_path / PARAMS.ledger).record(uri, "HTTP 404", "clip1")
    with pytest.raises(DownloadError):
        fetch(record(uri), tmp_path, PARAMS)
    assert ledger_of(tmp_path, PARAMS).forget(uri)
    assert fetch(record(uri), tmp_path, PARAMS, sleep=lambda s: None).read_bytes() == BODY


def test_local_files_are_copied_when_asked(tmp_path):
    source = tmp_path / "in" / "my clip.wav"
    source.parent.mkdir()
    source.write_bytes(BODY)
    copying = DownloadParams(copy_local=True)
    by_uri = fetch(record(source.as_uri(), "a"), tmp_path / "raw", copying)
    by_path = fetch(record(str(source), "b"), tmp_path / "raw", copying)
    assert by_uri.name == "a.wav" and by_path.name == "b.wav"
    assert by_uri.read_bytes() == by_path.read_bytes() == BODY


def test_local_files_are_read_in_place_by_default(tmp_path):
    source = tmp_path / "in" / "my clip.wav"
    source.parent.mkdir()
    source.write_bytes(BODY)
    assert fetch(record(source.as_uri(), "a"), tmp_path / "raw", PARAMS) == source
    assert not (tmp_path / "raw").exists()  # nothing copied that could go stale


def test_missing_or_too_large_local_file_is_permanent(tmp_path):
    with pytest.raises(DownloadError) as info:
        fetch(record((tmp_path / "nope.mp4").as_uri()), tmp_path / "raw", PARAMS)
    assert info.value.permanent and "not found" in info.value.reason
    big = tmp_path / "big.mp4"
    big.write_bytes(BODY)
    with pytest.raises(DownloadError) as info:
        fetch(record(big.as_uri(), "big"), tmp_path / "raw", DownloadParams(max_bytes=10))
    assert info.value.permanent and "max_bytes" in info.value.reason


@pytest.mark.parametrize("uri", ["ftp://host/a.mp4", "javascript:alert(1)", "relative/path.mp4", "data:,x"])
def test_unsupported_schemes_are_permanent(tmp_path, uri):
    with pytest.raises(DownloadError) as info:
        fetch(record(uri), tmp_path, PARAMS)
    assert info.value.permanent and "unsupported" in info.value.reason


HOSTILE = [
    "../../../escape",
    "/etc/passwd",
    "a; rm -rf ~",
    "$(touch pwned)",
    "`id`",
    "line\nbreak",
    "nul\x00byte",
    "x" * 10_000,
    "..",
    "-rf",
    ".hidden",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_names_land_inside_the_destination(server, tmp_path, raw):
    dest = tmp_path / "data" / "raw"
    path = fetch(record(server.url("/files/a.mp4"), safe_clip_id(raw)), dest, PARAMS)
    assert path.parent == dest.resolve() and not path.name.startswith((".", "-"))
    assert len(path.name) <= 120
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(dest)]
    assert all(p.is_dir() for p in outside)  # only the folders leading to dest
    assert not (tmp_path / "pwned").exists()


def test_unsafe_clip_ids_cannot_become_records():
    with pytest.raises(ValueError, match="safe_clip_id"):
        record("http://x/a.mp4", "../escape")


def test_ledger_survives_concurrent_writers(tmp_path):
    ledger = FailureLedger(tmp_path / "failures.json")

    def write(prefix):
        for i in range(20):
            ledger.record(f"{prefix}{i}", "HTTP 404")

    threads = [threading.Thread(target=write, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.entries()) == 40


def test_corrupt_ledger_is_a_clear_error(server, tmp_path):
    (tmp_path / "failures.json").write_text("{not json")
    with pytest.raises(LedgerError, match=r"failures.json"):
        fetch(record(server.url("/files/a.mp4")), tmp_path, PARAMS)


def test_ledger_name_must_stay_in_the_folder(tmp_path):
    with pytest.raises(ValueError, match="plain file name"):
        ledger_of(tmp_path, DownloadParams(ledger="../outside.json"))
