"""YouTube (and other yt-dlp sites) through yt-dlp's Python API: ≤ ``youtube_max_height`` video + audio,
only the ``[start, end]`` section where the site allows (ffmpeg cuts it while downloading).

avsep retries itself (with backoff, :mod:`avsep.download.retry`), so yt-dlp's own retries are off. yt-dlp
writes into a hidden work folder inside the download folder; the finished file is renamed onto
``DEST/<clip_id>.<ext>`` and the work folder removed. No command is ever run through a shell.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import imageio_ffmpeg

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.paths import destination
from avsep.download.retry import with_retries
from avsep.sources.youtube_ids import SCHEME, is_youtube_id

log = logging.getLogger(__name__)
WATCH_URL = "https://www.youtube.com/watch?v={}"
ALLOWED_EXTRACTORS = ["youtube", "generic"]  # generic: direct media URLs (and the local test server)

# Messages of failures that will not go away by retrying (removed, private, blocked, not a video).
_PERMANENT = re.compile(
    r"video unavailable|private video|has been removed|no longer available|account .* terminated|"
    r"not available in your country|geo.?restrict|confirm your age|age.?restricted|members.?only|"
    r"join this channel|copyright|unsupported url|incomplete youtube id|requested format is not available|"
    r"this video is not available|is not a valid url|http error 40[14]|http error 410",
    re.IGNORECASE,
)
# Checked first: "Sign in to confirm you're not a bot" is throttling, not a property of the video.
_TRANSIENT = re.compile(
    r"not a bot|timed out|timeout|connection (reset|refused|aborted)|remote end closed|temporary failure|"
    r"http error (429|5\d\d)|try again later|incomplete read|network is unreachable",
    re.IGNORECASE,
)


def watch_url(uri: str, params: DownloadParams) -> str:
    """``youtube:<id>`` → watch URL; an http(s) URL on ``youtube_hosts`` is kept as is."""
    parts = urlsplit(uri)
    if parts.scheme == SCHEME:
        video_id = uri[len(SCHEME) + 1 :]
        if not is_youtube_id(video_id):
            raise DownloadError(uri, "not a YouTube video ID", permanent=True)
        return WATCH_URL.format(video_id)
    if parts.scheme in ("http", "https"):
        return uri
    raise DownloadError(uri, f"yt-dlp cannot fetch scheme {parts.scheme!r}", permanent=True)


def is_youtube_uri(uri: str, params: DownloadParams) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == SCHEME or (
        parts.scheme in ("http", "https") and (parts.hostname or "").lower() in params.youtube_hosts
    )


class _Logger:
    """yt-dlp talks to logging (debug), never to the terminal; errors come back as exceptions."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


def ytdlp_options(
    work_dir: Path, clip_id: str, start_s: float, end_s: float | None, params: DownloadParams
) -> dict[str, Any]:
    """yt-dlp options: ≤ max height, video + audio merged, the section only, writing only into ``work_dir``."""
    from yt_dlp.utils import download_range_func

    height = params.youtube_max_height
    options: dict[str, Any] = {
        # best ≤ height video + best audio, else a ≤ height combined file, else the smallest there is;
        # `<=?` keeps formats whose height is unknown (direct files).
        "format": f"bv*[height<=?{height}]+ba/b[height<=?{height}]/w",
        "merge_output_format": "mp4/mkv",
        "outtmpl": {"default": f"{clip_id}.%(ext)s"},
        "paths": {"home": str(work_dir), "temp": str(work_dir)},
        "allowed_extractors": ALLOWED_EXTRACTORS,
        "noplaylist": True,
        "retries": 0,
        "fragment_retries": 0,
        "extractor_retries": 0,
        "socket_timeout": params.timeout_s,
        "max_filesize": params.max_bytes,
        # Sections are cut by ffmpeg, which ignores max_filesize: -fs stops it just past the limit, and the
        # size check after the download refuses the file.
        "external_downloader_args": {"ffmpeg_o": ["-fs", str(params.max_bytes)]},
        "ffmpeg_location": imageio_ffmpeg.get_ffmpeg_exe(),
        "cachedir": False,
        "overwrites": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        "http_headers": {"User-Agent": params.user_agent},
    }
    if start_s > 0 or end_s is not None:
        end = math.inf if end_s is None else end_s
        options["download_ranges"] = download_range_func(None, [(start_s, end)])
    return options


def classify_ytdlp_error(uri: str, exc: BaseException) -> DownloadError:
    """Transient or permanent, from the underlying cause (HTTP status, transport error) or the message."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    exc_info = getattr(exc, "exc_info", None)
    cause = exc_info[1] if exc_info else None
    message = re.sub(r"^ERROR:\s*", "", str(exc)).strip()
    if any(isinstance(e, (GeoRestrictedError, UnsupportedError)) for e in (cause, exc)):
        return DownloadError(uri, message, permanent=True)
    if isinstance(cause, HTTPError):
        status = cause.status
        permanent = status in (404, 410) or (400 <= status < 500 and status not in (403, 408, 429))
        return DownloadError(uri, f"HTTP {status}: {message}", permanent=permanent)
    if isinstance(cause, TransportError):
        return DownloadError(uri, message, permanent=False)
    if _TRANSIENT.search(message):
        return DownloadError(uri, message, permanent=False)
    # Unknown messages are retried (next run too): wrongly giving up on a video is worse than a retry.
    return DownloadError(uri, message, permanent=bool(_PERMANENT.search(message)))


def download_youtube(
    uri: str,
    dest_dir: str | Path,
    clip_id: str,
    start_s: float,
    end_s: float | None,
    params: DownloadParams,
    sleep=time.sleep,
) -> Path:
    """Download the section of ``uri`` to ``dest_dir/<clip_id>.<ext>`` (mp4 or mkv); returns the path."""
    url = watch_url(uri, params)
    return with_retries(lambda: _attempt(uri, url, Path(dest_dir), clip_id, start_s, end_s, params), uri, params, sleep)


def _attempt(uri, url, dest_dir: Path, clip_id, start_s, end_s, params: DownloadParams) -> Path:
    import yt_dlp
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    final_check = destination(dest_dir, clip_id, ".mp4")  # validates the id before anything is written
    work_dir = final_check.parent / f".{clip_id}.ytdlp.partial"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    options = ytdlp_options(work_dir, clip_id, start_s, end_s, params)

    def run() -> None:
        # yt-dlp's section downloader checks for ffmpeg without reading `ffmpeg_location`; its own CLI sets
        # this context variable. Set it in a copied context so nothing leaks to other code.
        FFmpegPostProcessor._ffmpeg_location.set(options["ffmpeg_location"])
        with yt_dlp.YoutubeDL(options) as ydl:
            ydl.download([url])

    try:
        try:
            contextvars.copy_context().run(run)
        except yt_dlp.utils.YoutubeDLError as exc:
            raise classify_ytdlp_error(uri, exc) from exc
        produced = sorted(
            p for p in work_dir.iterdir() if p.is_file() and p.stem == clip_id and p.suffix in (".mp4", ".mkv", ".webm")
        )
        if not produced:
            raise DownloadError(
                uri, f"yt-dlp wrote no file (larger than max_bytes {params.max_bytes}, or no format)", permanent=True
            )
        size = produced[0].stat().st_size
        if size > params.max_bytes:
            raise DownloadError(uri, f"{size} bytes exceeds max_bytes {params.max_bytes}", permanent=True)
        final = destination(dest_dir, clip_id, produced[0].suffix)
        os.replace(produced[0], final)
        return final
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
