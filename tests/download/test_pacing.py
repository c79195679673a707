"""Pacing: Retry-After parsing, the byte-rate throttle and the pause between one worker's downloads."""

import random
import threading

import pytest

from avsep.config.dataset import DownloadParams
from avsep.download import fetch
from avsep.download.pacing import Pacer, Throttle, retry_after_s
from avsep.sources.records import ClipRecord

from .server import http_server  # noqa: F401 - pytest fixture

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 14 Nov 2023 22:14:00 GMT", 40.0),  # IMF-fixdate
        ("Tuesday, 14-Nov-23 22:14:00 GMT", 40.0),  # RFC 850, still to be accepted
        ("Tue Nov 14 22:14:00 2023", 40.0),  # asctime
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # in the past: at once
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(value, seconds):
    assert retry_after_s(value, now=NOW) == seconds


def test_throttle_sleeps_exactly_what_keeps_the_rate():
    clock = [0.0]
    waits: list[float] = []

    def sleep(s):
        waits.append(s)
        clock[0] += s

    throttle = Throttle(1000, sleep, clock=lambda: clock[0])
    for _ in range(4):
        throttle.account(500)  # instant reads of 500 bytes at 1000 bytes/s: half a second each
    assert waits == pytest.approx([0.5, 0.5, 0.5, 0.5])
    clock[0] += 10  # a slow stretch earns no credit beyond the average
    assert throttle.account(500) == 0.0


def test_no_rate_limit_never_sleeps():
    assert Throttle(None, lambda s: pytest.fail("slept")).account(10**9) == 0.0


def test_pacer_waits_between_downloads_of_one_worker_only():
    params = DownloadParams(sleep_s=2.0, jitter_s=0.5)
    pacer = Pacer(random.Random(0))
    waits: list[float] = []
    assert pacer.wait(params, waits.append) == 0.0  # a worker's first download
    for _ in range(20):
        pacer.wait(params, waits.append)
    assert len(waits) == 20 and all(2.0 <= w <= 2.5 for w in waits) and len(set(waits)) > 1
    other: list[float] = []
    thread = threading.Thread(target=lambda: pacer.wait(params, other.append))
    thread.start()
    thread.join()
    assert other == []  # another worker starts without a wait


def test_fetch_paces_network_downloads_not_finished_or_local_ones(http_server, tmp_path):  # noqa: F811
    http_server.files["a.mp4"] = b"media" * 100
    params = DownloadParams(sleep_s=1.5, retries=0)
    pacer, waits = Pacer(), list[float]()
    local = tmp_path / "local.wav"
    local.write_bytes(b"x")
    for clip_id in ("a", "b", "a"):  # the second "a" is already there: no request, no wait
        record = ClipRecord(clip_id=clip_id, source="urls", uri=http_server.url("/files/a.mp4"))
        fetch(record, tmp_path / "raw", params, sleep=waits.append, pacer=pacer)
    fetch(ClipRecord(clip_id="c", source="urls", uri=local.as_uri()), tmp_path / "raw", params, waits.append, pacer)
    assert waits == [1.5] and http_server.hits["/files/a.mp4"] == 2
