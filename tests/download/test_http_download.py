"""HTTP downloads against a real server on 127.0.0.1: success, permanent and transient failures, limits."""

import pytest

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.http import download_http

from .server import free_port, http_server  # noqa: F401 - pytest fixture

BODY = bytes(range(256)) * 40  # 10 kB


def fast(**changes) -> DownloadParams:
    """Short timeouts and backoffs so failing routes cost little test time."""
    base = dict(retries=2, backoff_s=0.01, backoff_factor=2.0, timeout_s=0.5, total_timeout_s=5.0, chunk_bytes=1024)
    base.update(changes)
    return DownloadParams(**base)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def server(http_server):  # noqa: F811
    http_server.files["a.mp4"] = BODY
    return http_server


def test_download_writes_exact_bytes_under_the_clip_id(server, tmp_path):
    path = download_http(server.url("/files/a.mp4"), tmp_path, "clip1", fast())
    assert path == tmp_path.resolve() / "clip1.mp4"
    assert path.read_bytes() == BODY
    assert leftovers(tmp_path) == ["clip1.mp4"]


@pytest.mark.parametrize("code", [404, 410])
def test_gone_is_permanent_and_not_retried(server, tmp_path, code):
    with pytest.raises(DownloadError) as info:
        download_http(server.url(f"/status/{code}"), tmp_path, "clip1", fast())
    assert info.value.permanent and f"HTTP {code}" in str(info.value)
    assert server.hits[f"/status/{code}"] == 1
    assert leftovers(tmp_path) == []


def test_500_then_success_is_retried_with_exponential_backoff(server, tmp_path):
    waits: list[float] = []
    path = download_http(server.url("/flaky/2/a.mp4"), tmp_path, "clip1", fast(retries=2), sleep=waits.append)
    assert path.read_bytes() == BODY
    assert server.hits["/flaky/2/a.mp4"] == 3
    assert waits == pytest.approx([0.01, 0.02])


def test_500_beyond_the_retries_is_transient(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/flaky/5/a.mp4"), tmp_path, "clip1", fast(retries=1), sleep=lambda s: None)
    assert not info.value.permanent and info.value.attempts == 2 and "HTTP 500" in info.value.reason
    assert server.hits["/flaky/5/a.mp4"] == 2


def test_backoff_is_capped(server, tmp_path):
    waits: list[float] = []
    with pytest.raises(DownloadError):
        download_http(
            server.url("/status/503"), tmp_path, "c", fast(retries=4, backoff_s=1, backoff_max_s=3), sleep=waits.append
        )
    assert waits == [1, 2, 3, 3]


def test_connection_reset_is_transient(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/reset/a.mp4"), tmp_path, "clip1", fast(retries=1), sleep=lambda s: None)
    assert not info.value.permanent
    assert server.hits["/reset/a.mp4"] == 2
    assert leftovers(tmp_path) == []


def test_connection_refused_is_transient(tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(f"http://127.0.0.1:{free_port()}/a.mp4", tmp_path, "c", fast(retries=0))
    assert not info.value.permanent and "Connection" in info.value.reason


def test_server_that_never_answers_times_out(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/hang"), tmp_path, "clip1", fast(retries=0, timeout_s=0.3))
    assert not info.value.permanent and "timed out" in info.value.reason
    assert leftovers(tmp_path) == []


def test_slow_server_within_the_deadline_succeeds(server, tmp_path):
    server.delay_s = 0.02
    path = download_http(server.url("/slow/a.mp4"), tmp_path, "clip1", fast(total_timeout_s=5))
    assert path.read_bytes() == BODY


def test_slow_server_past_the_deadline_is_cut_off(server, tmp_path):
    server.delay_s = 0.1
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/slow/a.mp4"), tmp_path, "clip1", fast(retries=0, total_timeout_s=0.15))
    assert not info.value.permanent and "total_timeout_s" in info.value.reason
    assert leftovers(tmp_path) == []  # the partial file is gone, nothing under the final name


def test_redirect_is_followed(server, tmp_path):
    path = download_http(server.url("/redirect/a.mp4"), tmp_path, "clip1", fast())
    assert path.read_bytes() == BODY and path.suffix == ".mp4"


def test_redirect_loop_is_permanent(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/loop/a"), tmp_path, "clip1", fast())
    assert info.value.permanent and "redirect loop" in info.value.reason
    assert server.hits["/loop/a"] == 1 and server.hits["/loop/b"] == 1


def test_too_many_redirects_is_permanent(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/redirect/a.mp4"), tmp_path, "clip1", fast(max_redirects=0))
    assert info.value.permanent and "redirects" in info.value.reason


def test_redirect_to_a_local_file_is_refused(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/to-file"), tmp_path, "clip1", fast())
    assert info.value.permanent and "non-HTTP" in info.value.reason
    assert leftovers(tmp_path) == []


def test_declared_size_over_the_limit_is_refused_before_reading(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/files/a.mp4"), tmp_path, "clip1", fast(max_bytes=len(BODY) - 1))
    assert info.value.permanent and "max_bytes" in info.value.reason
    assert leftovers(tmp_path) == []


def test_undeclared_size_over_the_limit_is_cut_while_streaming(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/nolength/a.mp4"), tmp_path, "clip1", fast(max_bytes=3000))
    assert info.value.permanent and "max_bytes" in info.value.reason
    assert leftovers(tmp_path) == []


def test_body_without_length_within_the_limit_succeeds(server, tmp_path):
    path = download_http(server.url("/nolength/a.mp4"), tmp_path, "clip1", fast())
    assert path.read_bytes() == BODY


def test_truncated_body_is_transient_and_leaves_no_file(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_http(server.url("/truncated/a.mp4"), tmp_path, "clip1", fast(retries=0))
    assert not info.value.permanent
    assert leftovers(tmp_path) == []


def test_suffix_comes_from_content_type_when_the_url_has_none(server, tmp_path):
    server.files["noext"] = BODY
    path = download_http(server.url("/bare/noext"), tmp_path, "clip1", fast())
    assert path.name == "clip1.mp4"


def test_unsafe_clip_id_is_refused_before_any_request(server, tmp_path):
    with pytest.raises(ValueError, match="not filesystem-safe"):
        download_http(server.url("/files/a.mp4"), tmp_path / "d", "../../escape", fast())
    assert server.hits["/files/a.mp4"] == 0
    assert not (tmp_path / "escape.mp4").exists() and not list(tmp_path.rglob("*.mp4"))
