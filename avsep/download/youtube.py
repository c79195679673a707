"""YouTube (and other yt-dlp sites) through yt-dlp's Python API: ≤ ``youtube_max_height`` video + audio,
only the ``[start, end]`` section where the site allows (ffmpeg cuts it while downloading).

avsep retries itself (with backoff, :mod:`avsep.download.retry`), so yt-dlp's own retries are off. yt-dlp
writes into a hidden work folder inside the download folder; the finished file is renamed onto
``DEST/<clip_id>.<ext>`` and the work folder removed (kept after a transient failure while it holds
``.part`` files to continue). yt-dlp gets the deno of the ``deno`` package for YouTube's JavaScript challenges
(:mod:`avsep.download.jsruntime`), a copy of ``cookies_file``, ``rate_limit`` as its ``ratelimit``; its
failures are classified by :mod:`avsep.download.youtube_errors`. No command is ever run through a shell.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import imageio_ffmpeg

from avsep.config.dataset import DownloadParams
from avsep.download.errors import ConfigError, DownloadError
from avsep.download.jsruntime import js_runtimes_option, missing, warn_if_missing
from avsep.download.paths import destination
from avsep.download.retry import with_retries
from avsep.download.youtube_errors import UNSUPPORTED, classify, reason_of
from avsep.sources.youtube_ids import SCHEME, is_youtube_id

log = logging.getLogger(__name__)
WATCH_URL = "https://www.youtube.com/watch?v={}"
COOKIES = "cookies.txt"  # yt-dlp's copy of download.cookies_file, inside the work folder
ALLOWED_EXTRACTORS = ["youtube", "generic"]  # generic: direct media URLs (and the local test server)


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
    """yt-dlp talks to logging (debug), never to the terminal; errors come back as exceptions.

    The warnings of an attempt are kept: the JavaScript-challenge failures are only warnings, and they
    decide what the "Requested format is not available" that follows means.
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        self.warnings.append(message)
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


def checked_cookies(params: DownloadParams) -> Path | None:
    """``cookies_file`` if set and usable: a readable Netscape cookies.txt; ConfigError naming it otherwise."""
    if params.cookies_file is None:
        return None
    path = Path(params.cookies_file).expanduser()
    if not path.is_file():
        raise ConfigError("cookies_file", params.cookies_file, "no such file" if not path.exists() else "not a file")
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("cookies_file", params.cookies_file, f"unreadable ({exc})") from None
    first = next((line for line in head.splitlines() if line.strip()), "")
    if first.lstrip().startswith(("{", "[")):
        raise ConfigError("cookies_file", params.cookies_file, "JSON, not a Netscape cookies.txt")
    if not first.startswith("#") and first.count("\t") != 6:
        raise ConfigError(
            "cookies_file", params.cookies_file, "not a Netscape cookies.txt (7 tab-separated fields a line)"
        )
    return path


def ytdlp_options(
    work_dir: Path,
    clip_id: str,
    start_s: float,
    end_s: float | None,
    params: DownloadParams,
    cookies: Path | None = None,
) -> dict[str, Any]:
    """yt-dlp options: ≤ max height, video + audio merged, the section only, writing only into ``work_dir``.

    ``cookies``: the cookies.txt yt-dlp reads and rewrites when it closes (give it a copy).
    """
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
        "js_runtimes": js_runtimes_option(),
        "cachedir": False,
        # A work folder kept from a cut attempt holds finished streams and `.part` files: keep the first,
        # continue the second (HTTP Range) instead of starting again.
        "overwrites": not params.resume,
        "continuedl": params.resume,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        "http_headers": {"User-Agent": params.user_agent},
    }
    if params.rate_limit is not None:
        options["ratelimit"] = params.rate_limit
    if cookies is not None:
        options["cookiefile"] = str(cookies)
    if start_s > 0 or end_s is not None:
        end = math.inf if end_s is None else end_s
        options["download_ranges"] = download_range_func(None, [(start_s, end)])
    return options


def classify_ytdlp_error(uri: str, exc: BaseException, warnings: Sequence[str] = ()) -> DownloadError:
    """Class, permanence and advice (:mod:`avsep.download.youtube_errors`) of a yt-dlp failure.

    ``warnings``: what yt-dlp warned during the same attempt.
    """
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    exc_info = getattr(exc, "exc_info", None)
    cause = exc_info[1] if exc_info else None
    if any(isinstance(e, UnsupportedError) for e in (cause, exc)):
        return DownloadError(
            uri, reason_of(str(exc)), permanent=True, category=UNSUPPORTED.name, advice=UNSUPPORTED.advice
        )
    http = cause if isinstance(cause, HTTPError) else None
    found = classify(
        str(exc),
        warnings,
        solver_ready=missing() is None,
        http_status=http.status if http is not None else None,
        retry_after=http.response.headers.get("Retry-After") if http is not None else None,
        transport_error=isinstance(cause, TransportError),
        geo_restricted=any(isinstance(e, GeoRestrictedError) for e in (cause, exc)),
    )
    reason = found.reason
    if http is not None and f"HTTP {http.status}" not in reason and f"HTTP Error {http.status}" not in reason:
        reason = f"HTTP {http.status}: {reason}"
    return DownloadError(
        uri,
        reason,
        permanent=found.failure.permanent,
        category=found.failure.name,
        advice=found.failure.advice,
        retry_after_s=found.retry_after_s,
        retry_now=found.failure.retry_now,
    )


def download_youtube(
    uri: str,
    dest_dir: str | Path,
    clip_id: str,
    start_s: float,
    end_s: float | None,
    params: DownloadParams,
    sleep=time.sleep,
) -> Path:
    """Download the section of ``uri`` to ``dest_dir/<clip_id>.<ext>`` (mp4 or mkv); returns the path.

    Raises ConfigError when ``cookies_file`` is set but unusable (every clip would fail alike).
    """
    url = watch_url(uri, params)
    cookies = checked_cookies(params)
    if is_youtube_uri(uri, params):
        warn_if_missing()
    return with_retries(
        lambda: _attempt(uri, url, Path(dest_dir), clip_id, start_s, end_s, params, cookies), uri, params, sleep
    )


def _attempt(uri, url, dest_dir: Path, clip_id, start_s, end_s, params: DownloadParams, cookies) -> Path:
    import yt_dlp
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    final_check = destination(dest_dir, clip_id, ".mp4")  # validates the id before anything is written
    work_dir = final_check.parent / f".{clip_id}.ytdlp.partial"
    if not params.resume:
        shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    if cookies is not None:  # yt-dlp saves its cookie jar back into the file it read: never the user's own
        cookies = Path(shutil.copyfile(cookies, work_dir / COOKIES))
    options = ytdlp_options(work_dir, clip_id, start_s, end_s, params, cookies)
    logger = options["logger"]

    def run() -> None:
        # yt-dlp's section downloader checks for ffmpeg without reading `ffmpeg_location`; its own CLI sets
        # this context variable. Set it in a copied context so nothing leaks to other code.
        FFmpegPostProcessor._ffmpeg_location.set(options["ffmpeg_location"])
        with yt_dlp.YoutubeDL(options) as ydl:
            ydl.download([url])

    keep = False
    try:
        try:
            contextvars.copy_context().run(run)
        except yt_dlp.utils.YoutubeDLError as exc:
            error = classify_ytdlp_error(uri, exc, logger.warnings)
            # A later attempt continues what is there, if anything is.
            keep = params.resume and not error.permanent and any(p.name != COOKIES for p in work_dir.iterdir())
            raise error from exc
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
        if keep:
            (work_dir / COOKIES).unlink(missing_ok=True)  # no copy of the user's session left in the data
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
