"""yt-dlp downloads: option building, error classification, and real runs against the local HTTP server
(yt-dlp's generic extractor takes a direct media URL; YouTube itself is not reachable from tests)."""

import time

import imageio_ffmpeg
import pytest
import yt_dlp

from avsep.config import derive
from avsep.config.dataset import DownloadParams
from avsep.download.errors import ConfigError, DownloadError
from avsep.download.jsruntime import deno_path
from avsep.download.youtube import (
    classify_ytdlp_error,
    download_youtube,
    is_youtube_uri,
    watch_url,
    ytdlp_options,
)

from .server import http_server, make_mp4  # noqa: F401 - pytest fixture

PARAMS = DownloadParams(retries=0, timeout_s=0.5, youtube_max_height=360)


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory):
    return make_mp4(tmp_path_factory.mktemp("media") / "v.mp4", seconds=3.0).read_bytes()


def test_youtube_ids_become_watch_urls_and_hostile_ids_are_refused():
    assert watch_url("youtube:dQw4w9WgXcQ", PARAMS) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    for bad in ["youtube:../../etc", "youtube:abc&list=x", "youtube:dQw4w9WgXcQ;rm", "ftp://x/y"]:
        with pytest.raises(DownloadError) as info:
            watch_url(bad, PARAMS)
        assert info.value.permanent


def test_youtube_hosts_are_recognised():
    assert is_youtube_uri("youtube:dQw4w9WgXcQ", PARAMS)
    assert is_youtube_uri("https://www.youtube.com/watch?v=dQw4w9WgXcQ", PARAMS)
    assert is_youtube_uri("https://youtu.be/dQw4w9WgXcQ", PARAMS)
    assert not is_youtube_uri("https://example.org/a.mp4", PARAMS)
    assert not is_youtube_uri("https://youtube.com.evil.org/a.mp4", PARAMS)


def test_options_limit_height_write_only_into_the_work_folder_and_run_nothing(tmp_path):
    options = ytdlp_options(tmp_path, "clip1", 2.0, 7.5, PARAMS)
    assert "height<=?360" in options["format"] and "+ba" in options["format"]
    assert options["paths"] == {"home": str(tmp_path), "temp": str(tmp_path)}
    assert options["outtmpl"]["default"].startswith("clip1.")
    assert options["retries"] == 0 and options["max_filesize"] == PARAMS.max_bytes
    assert not {"exec", "exec_cmd", "postprocessors", "external_downloader"} & set(options)
    sections = list(options["download_ranges"]({}, None))
    assert [(s["start_time"], s["end_time"]) for s in sections] == [(2.0, 7.5)]


def test_whole_video_has_no_section(tmp_path):
    assert "download_ranges" not in ytdlp_options(tmp_path, "clip1", 0.0, None, PARAMS)
    assert "download_ranges" in ytdlp_options(tmp_path, "clip1", 5.0, None, PARAMS)


@pytest.mark.parametrize(
    "message, permanent",
    [
        ("ERROR: [youtube] dQw4w9WgXcQ: Video unavailable", True),
        ("ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access", True),
        ("ERROR: [youtube] x: This video has been removed by the uploader", True),
        ("ERROR: [youtube] x: Video unavailable. This video is not available in your country", True),
        ("ERROR: [youtube] x: Sign in to confirm your age", True),
        ("ERROR: [youtube] x: Sign in to confirm you’re not a bot", False),
        ("ERROR: unable to download video data: HTTP Error 503: Service Unavailable", False),
        ("ERROR: [youtube] x: Read timed out", False),
        ("ERROR: something nobody has seen before", False),
    ],
)
def test_messages_are_classified(message, permanent):
    error = classify_ytdlp_error("youtube:x", yt_dlp.utils.DownloadError(message))
    assert error.permanent is permanent
    assert not error.reason.startswith("ERROR")


def test_section_of_a_direct_url_is_downloaded(http_server, video_bytes, tmp_path):  # noqa: F811
    http_server.files["v.mp4"] = video_bytes
    path = download_youtube(http_server.url("/files/v.mp4"), tmp_path, "clip1", 0.5, 1.5, PARAMS)
    assert path.parent == tmp_path.resolve() and path.stem == "clip1" and path.suffix in (".mp4", ".mkv")
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert seconds == pytest.approx(1.0, abs=0.25)  # the 1 s section, not the 3 s video
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # work folder removed


@pytest.mark.parametrize("start, end", [(0.0, None), (0.5, 1.5)])
def test_too_large_through_ytdlp_is_permanent(http_server, video_bytes, tmp_path, start, end):  # noqa: F811
    http_server.files["v.mp4"] = video_bytes
    with pytest.raises(DownloadError) as info:
        download_youtube(
            http_server.url("/files/v.mp4"), tmp_path, "clip1", start, end, derive(PARAMS, {"max_bytes": 1000})
        )
    assert info.value.permanent and "max_bytes" in info.value.reason
    assert list(tmp_path.iterdir()) == []


def test_404_through_ytdlp_is_permanent(http_server, tmp_path):  # noqa: F811
    with pytest.raises(DownloadError) as info:
        download_youtube(http_server.url("/status/404"), tmp_path, "clip1", 0.0, None, PARAMS)
    assert info.value.permanent and "404" in info.value.reason
    assert list(tmp_path.iterdir()) == []


def test_500_through_ytdlp_is_transient(http_server, tmp_path):  # noqa: F811
    with pytest.raises(DownloadError) as info:
        download_youtube(http_server.url("/status/500"), tmp_path, "clip1", 0.0, None, PARAMS)
    assert not info.value.permanent and info.value.attempts == 1
    assert list(tmp_path.iterdir()) == []


def test_timeout_through_ytdlp_is_transient(http_server, tmp_path):  # noqa: F811
    with pytest.raises(DownloadError) as info:
        download_youtube(http_server.url("/hang"), tmp_path, "clip1", 0.0, None, PARAMS)
    assert not info.value.permanent
    assert list(tmp_path.iterdir()) == []


COOKIES = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tavsep_test\tsession-42\n"


def test_options_carry_runtime_cookies_rate_limit_and_resume(tmp_path):
    cookies = tmp_path / "cookies.txt"
    options = ytdlp_options(tmp_path, "clip1", 0.0, None, derive(PARAMS, {"rate_limit": 50_000}), cookies)
    assert options["js_runtimes"] == {"deno": {"path": deno_path()}}
    assert options["cookiefile"] == str(cookies) and options["ratelimit"] == 50_000
    assert options["continuedl"] is True and options["overwrites"] is False
    plain = ytdlp_options(tmp_path, "clip1", 0.0, None, derive(PARAMS, {"resume": False}))
    assert "cookiefile" not in plain and "ratelimit" not in plain and plain["continuedl"] is False


def test_cookies_and_rate_limit_reach_ytdlp(http_server, video_bytes, tmp_path):  # noqa: F811
    http_server.files["v.mp4"] = video_bytes
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES)
    rate = len(video_bytes)  # bytes/s: about one second for the file
    params = derive(PARAMS, {"cookies_file": str(cookies), "rate_limit": rate})
    start = time.monotonic()
    path = download_youtube(http_server.url("/files/v.mp4"), tmp_path / "raw", "clip1", 0.0, None, params)
    elapsed = time.monotonic() - start
    assert path.read_bytes() == video_bytes
    assert "avsep_test=session-42" in (http_server.cookies["/files/v.mp4"][-1] or "")
    assert cookies.read_text() == COOKIES  # yt-dlp rewrote its copy, never the user's file
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["clip1.mp4"]  # no copy of the cookies left
    # yt-dlp paced the body (its first block is free): a lower bound only, a slow machine only adds to it.
    assert elapsed >= 0.5


@pytest.mark.parametrize(
    "content, reason",
    [(None, "no such file"), ('[{"name": "SID"}]', "JSON"), ("SID=abc; HSID=def\n", "Netscape")],
)
def test_unusable_cookies_file_is_a_clear_error_before_any_request(http_server, tmp_path, content, reason):  # noqa: F811
    cookies = tmp_path / "cookies.txt"
    if content is not None:
        cookies.write_text(content)
    with pytest.raises(ConfigError, match=rf"dataset.download.cookies_file = .*cookies.txt.*{reason}"):
        download_youtube(
            http_server.url("/files/v.mp4"), tmp_path, "c", 0.0, None, derive(PARAMS, {"cookies_file": str(cookies)})
        )
    assert http_server.hits["/files/v.mp4"] == 0


def test_429_through_ytdlp_waits_the_retry_after(http_server, video_bytes, tmp_path):  # noqa: F811
    http_server.files["v.mp4"] = video_bytes
    http_server.retry_after = "7"
    waits: list[float] = []
    params = derive(PARAMS, {"retries": 2})
    path = download_youtube(http_server.url("/busy/1/429/v.mp4"), tmp_path, "c", 0.0, None, params, waits.append)
    assert path.read_bytes() == video_bytes and waits == [7.0]


def test_cut_download_through_ytdlp_continues_its_part_file(http_server, video_bytes, tmp_path):  # noqa: F811
    http_server.files["v.mp4"] = video_bytes
    http_server.cut_bytes = 5000  # every answer without Range is cut: only continuing can finish
    params = derive(PARAMS, {"retries": 1, "backoff_s": 0.0})
    path = download_youtube(http_server.url("/cut/v.mp4"), tmp_path, "c", 0.0, None, params, lambda s: None)
    assert path.read_bytes() == video_bytes
    asked = [r for r in http_server.ranges["/cut/v.mp4"] if r]
    assert len(asked) == 1 and asked[0].startswith("bytes=") and asked[0] != "bytes=0-"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
