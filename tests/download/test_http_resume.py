"""HTTP downloads that are cut, paced or told to come back, against a real server on 127.0.0.1.

Resume: a transfer cut short continues with ``Range`` where the server supports it (206), starts again when
it answers 200 or a range that does not continue the partial file, and the result is always the exact body.
Waits (Retry-After, the rate limit) are asserted as the code decides them, through the ``sleep`` seam.
"""

import email.utils
import json
import time

import pytest

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.http import download_http
from avsep.download.partial import Partial

from .server import http_server  # noqa: F401 - pytest fixture

BODY = bytes(range(256)) * 40  # 10 kB


def fast(**changes) -> DownloadParams:
    base = dict(retries=2, backoff_s=0.01, backoff_factor=2.0, timeout_s=1.0, total_timeout_s=5.0, chunk_bytes=1024)
    base.update(changes)
    return DownloadParams(**base)


@pytest.fixture
def server(http_server):  # noqa: F811
    http_server.files["a.mp4"] = BODY
    http_server.cut_bytes = 3000
    return http_server


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_cut_transfer_continues_with_a_range_request(server, tmp_path):
    waits: list[float] = []
    path = download_http(server.url("/cut/a.mp4"), tmp_path, "clip1", fast(), sleep=waits.append)
    assert path.read_bytes() == BODY
    # Every answer without Range is cut after 3000 bytes: only continuing could finish the file.
    assert server.ranges["/cut/a.mp4"] == [None, "bytes=3000-"]
    assert names(tmp_path) == ["clip1.mp4"]  # partial file and its sidecar gone


def test_cut_transfer_continues_in_the_next_run(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/cut/a.mp4"), tmp_path, "clip1", fast(retries=0))
    assert not info.value.permanent and "3000 of 10240" in info.value.reason
    partial = Partial(tmp_path, "clip1")
    assert partial.path.stat().st_size == 3000 and not (tmp_path / "clip1.mp4").exists()
    assert json.loads(partial.sidecar.read_text())["validator"] == '"v1"'
    path = download_http(server.url("/cut/a.mp4"), tmp_path, "clip1", fast(retries=0))
    assert path.read_bytes() == BODY and names(tmp_path) == ["clip1.mp4"]
    assert server.ranges["/cut/a.mp4"] == [None, "bytes=3000-"]


def test_server_that_answers_200_to_a_range_gets_the_file_whole(server, tmp_path):
    path = download_http(server.url("/liar/a.mp4"), tmp_path, "clip1", fast(), sleep=lambda s: None)
    assert server.ranges["/liar/a.mp4"] == [None, "bytes=3000-"]
    assert path.read_bytes() == BODY  # the 200 body replaced the 3000 bytes, nothing spliced


def test_range_that_does_not_continue_the_partial_file_starts_again(server, tmp_path):
    path = download_http(server.url("/skew/a.mp4"), tmp_path, "clip1", fast(), sleep=lambda s: None)
    # attempt 1 cut; attempt 2 asks from 3000, gets 206 from 0: dropped, asked again without Range
    assert server.ranges["/skew/a.mp4"] == [None, "bytes=3000-", None]
    assert path.read_bytes() == BODY


def test_partial_of_another_url_is_not_continued(server, tmp_path):
    with pytest.raises(DownloadError):
        download_http(server.url("/cut/a.mp4"), tmp_path, "clip1", fast(retries=0))
    path = download_http(server.url("/ranged/a.mp4"), tmp_path, "clip1", fast(retries=0))
    assert path.read_bytes() == BODY and server.ranges["/ranged/a.mp4"] == [None]


def test_resume_off_starts_again(server, tmp_path):
    with pytest.raises(DownloadError):
        download_http(server.url("/cut/a.mp4"), tmp_path, "clip1", fast(retries=0, resume=False))
    assert names(tmp_path) == []  # nothing kept to continue


def test_server_without_ranges_leaves_no_partial_file(server, tmp_path):
    with pytest.raises(DownloadError):
        download_http(server.url("/truncated/a.mp4"), tmp_path, "clip1", fast(retries=0))
    assert names(tmp_path) == []


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_seconds_replaces_the_backoff(server, tmp_path, code):
    server.retry_after = "7"
    waits: list[float] = []
    path = download_http(server.url(f"/busy/1/{code}/a.mp4"), tmp_path, "clip1", fast(), sleep=waits.append)
    assert path.read_bytes() == BODY and waits == [7.0]


def test_retry_after_http_date_is_counted_from_now(server, tmp_path):
    server.retry_after = email.utils.formatdate(time.time() + 30, usegmt=True)
    waits: list[float] = []
    download_http(server.url("/busy/1/429/a.mp4"), tmp_path, "clip1", fast(), sleep=waits.append)
    assert len(waits) == 1 and waits[0] == pytest.approx(30, abs=2)  # whole seconds, and the request's time


def test_retry_after_beyond_the_cap_is_left_to_a_later_run(server, tmp_path):
    server.retry_after = "3600"
    waits: list[float] = []
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/busy/1/429/a.mp4"), tmp_path, "clip1", fast(), sleep=waits.append)
    assert waits == [] and server.hits["/busy/1/429/a.mp4"] == 1
    assert not info.value.permanent and "retry_after_max_s" in info.value.reason


def test_unreadable_retry_after_falls_back_to_the_backoff(server, tmp_path):
    server.retry_after = "soon"
    waits: list[float] = []
    download_http(server.url("/busy/2/503/a.mp4"), tmp_path, "clip1", fast(), sleep=waits.append)
    assert waits == pytest.approx([0.01, 0.02])


def test_rate_limit_paces_the_reads(server, tmp_path):
    rate = 4096  # bytes/s: BODY takes 2.5 s at this rate
    waits: list[float] = []
    start = time.monotonic()
    path = download_http(server.url("/ranged/a.mp4"), tmp_path, "clip1", fast(rate_limit=rate), sleep=waits.append)
    elapsed = time.monotonic() - start
    assert path.read_bytes() == BODY
    # The recorded sleeps do not pass time, so the throttle asks for the whole schedule minus real time spent.
    assert len(BODY) / rate - elapsed - 0.01 <= max(waits) <= len(BODY) / rate
    assert len(waits) == len(BODY) // 1024  # one decision per chunk
