"""HTTP(S) downloads: streamed to a partial file, renamed when complete; failures classified.

Transient (retried with backoff): timeouts, refused/reset connections, truncated bodies, 408, 429, 5xx,
a server slower than ``total_timeout_s``. Permanent (recorded in the ledger): ``permanent_http_codes``
(404, 410, ...), other 4xx, files over ``max_bytes`` (by Content-Length, or counted while streaming),
redirect loops, too many redirects, redirects to a non-HTTP scheme, TLS certificate errors.

A 429 or 503 with ``Retry-After`` (seconds or an HTTP-date) waits that long instead of the backoff
(:func:`avsep.download.retry.retry_delay`). Reads are paced to ``rate_limit`` bytes/s. A transfer cut
short is continued where it stopped (``Range``, :mod:`avsep.download.partial`) when the server
advertises ``Accept-Ranges: bytes`` and ``resume`` is on; a server that answers 200 instead of 206, or
a 206 that does not continue the bytes we have, gets the file downloaded whole again.
"""

from __future__ import annotations

import http.client
import logging
import mimetypes
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.pacing import Throttle, retry_after_s
from avsep.download.partial import Partial, ResumeInfo
from avsep.download.paths import FALLBACK_SUFFIX, clean_suffix, destination
from avsep.download.retry import with_retries

SCHEMES = ("http", "https")
REDIRECT_CODES = (301, 302, 303, 307, 308)
RETRYABLE_4XX = (408, 429)  # request timeout, too many requests: the server asks us to come back
_CONTENT_RANGE = re.compile(r"bytes (?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+|\*)")
log = logging.getLogger(__name__)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, to detect loops and refuse non-HTTP targets."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def download_http(url: str, dest_dir: str | Path, clip_id: str, params: DownloadParams, sleep=time.sleep) -> Path:
    """Download ``url`` to ``dest_dir/<clip_id><suffix>`` with retries; returns the final path.

    The suffix comes from the URL path (``.mp4``), else the Content-Type, else ``.bin``. ``sleep`` makes
    every wait (backoff, ``Retry-After``, the rate limit). Raises DownloadError (``permanent`` set as
    classified above).
    """
    destination(dest_dir, clip_id, FALLBACK_SUFFIX)  # refuse an unsafe id before any request
    return with_retries(lambda: _attempt(url, Path(dest_dir), clip_id, params, sleep), url, params, sleep)


class _StartAgain(Exception):
    """The server's answer does not continue the partial file: drop it and ask for the whole file."""


def _attempt(url: str, dest_dir: Path, clip_id: str, params: DownloadParams, sleep) -> Path:
    deadline = time.monotonic() + params.total_timeout_s
    partial = Partial(dest_dir, clip_id)
    resume = partial.resume_point(url) if params.resume else None
    if resume is None:
        partial.discard()  # bytes of another URL, or of a server that cannot continue them
    try:
        return _request(url, dest_dir, clip_id, params, sleep, deadline, partial, resume)
    except _StartAgain as exc:
        log.info("%s: %s; downloading it whole", url, exc)
        partial.discard()
        return _request(url, dest_dir, clip_id, params, sleep, deadline, partial, None)


def _request(url, dest_dir: Path, clip_id, params: DownloadParams, sleep, deadline, partial, resume) -> Path:
    current, seen = url, [url]
    while True:
        headers = {"User-Agent": params.user_agent}
        if resume is not None:
            offset, info = resume
            headers["Range"] = f"bytes={offset}-"
            if info.validator:  # a changed file comes back whole (200), never spliced onto old bytes
                headers["If-Range"] = info.validator
        request = urllib.request.Request(current, headers=headers)
        try:
            response = _OPENER.open(request, timeout=params.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and resume is not None:
                raise _StartAgain("the server cannot continue the partial file (HTTP 416)") from None
            if exc.code not in REDIRECT_CODES:
                raise _http_status_error(url, exc.code, exc.reason, params, exc.headers) from None
            current = _next_hop(url, current, exc.headers.get("Location"), seen, params)
            continue
        except Exception as exc:  # every network failure is classified, none escapes raw
            raise classify_exception(url, exc) from exc
        with response:
            return _stream(url, response, dest_dir, clip_id, params, deadline, sleep, partial, resume)


def _next_hop(url: str, current: str, location: str | None, seen: list[str], params: DownloadParams) -> str:
    if not location:
        raise DownloadError(url, f"redirect from {current} without a Location", permanent=True)
    target = urljoin(current, location)
    if urlsplit(target).scheme.lower() not in SCHEMES:
        raise DownloadError(url, f"redirect to a non-HTTP URL {target[:120]!r} refused", permanent=True)
    if target in seen:
        raise DownloadError(url, f"redirect loop after {len(seen)} hops (back to {target})", permanent=True)
    if len(seen) > params.max_redirects:
        raise DownloadError(url, f"more than {params.max_redirects} redirects", permanent=True)
    seen.append(target)
    return target


def _stream(url, response, dest_dir: Path, clip_id, params: DownloadParams, deadline, sleep, partial, resume) -> Path:
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    offset = 0
    if response.status == 206:
        if resume is None:
            raise DownloadError(url, "HTTP 206 to a request without Range", permanent=False)
        offset = _continued_offset(response.headers.get("Content-Range"), resume)
    total = None if length is None else offset + length
    if total is not None and total > params.max_bytes:
        partial.discard()
        raise DownloadError(url, f"Content-Length {total} bytes exceeds max_bytes {params.max_bytes}", permanent=True)
    final = destination(dest_dir, clip_id, _suffix(url, response.headers.get_content_type()))
    resumable = params.resume and total is not None and "bytes" in response.headers.get("Accept-Ranges", "").lower()
    if offset == 0:
        partial.discard()
        partial.path.parent.mkdir(parents=True, exist_ok=True)
        if resumable and total is not None:
            partial.remember(ResumeInfo(url, total, _validator(response.headers)))
    received = offset
    throttle = Throttle(params.rate_limit, sleep)
    try:
        with open(partial.path, "ab" if offset else "wb") as out:
            while True:
                chunk = response.read(params.chunk_bytes)
                if not chunk:
                    break
                received += len(chunk)
                if received > params.max_bytes:
                    raise DownloadError(url, f"more than max_bytes {params.max_bytes} bytes", permanent=True)
                if time.monotonic() > deadline:
                    raise DownloadError(
                        url,
                        f"slower than total_timeout_s {params.total_timeout_s} s ({received} bytes so far)",
                        permanent=False,
                    )
                out.write(chunk)
                throttle.account(len(chunk))
            if total is not None and received != total:
                raise DownloadError(url, f"connection closed after {received} of {total} bytes", permanent=False)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        if not (resumable or offset) or (isinstance(exc, DownloadError) and exc.permanent):
            partial.discard()  # nothing a later request could continue
        if isinstance(exc, DownloadError):
            raise
        if isinstance(exc, Exception):  # reset or timeout mid-body
            raise classify_exception(url, exc) from exc
        raise
    return partial.commit(final)


def _continued_offset(content_range: str | None, resume: tuple[int, ResumeInfo]) -> int:
    """The offset a 206 answer continues from, if it continues the partial file exactly; else start again."""
    offset, info = resume
    match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
    if match is None:
        raise _StartAgain(f"unreadable Content-Range {content_range!r}")
    start, total = int(match["start"]), match["total"]
    if start != offset or (total != "*" and int(total) != info.total):
        raise _StartAgain(f"Content-Range {content_range!r} does not continue {offset} of {info.total} bytes")
    return offset


def _validator(headers) -> str | None:
    """What If-Range may name: a strong ETag, else Last-Modified (weak ETags are not allowed there)."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _suffix(url: str, content_type: str) -> str:
    from_path = clean_suffix(PurePosixPath(unquote(urlsplit(url).path)).suffix)
    if from_path != FALLBACK_SUFFIX:
        return from_path
    return clean_suffix(mimetypes.guess_extension(content_type) or FALLBACK_SUFFIX)


def _http_status_error(url: str, code: int, message: str, params: DownloadParams, headers=None) -> DownloadError:
    permanent = code in params.permanent_http_codes or (400 <= code < 500 and code not in RETRYABLE_4XX)
    wait = retry_after_s(headers.get("Retry-After")) if headers is not None and code in (429, 503) else None
    asked = f" (Retry-After {wait:g} s)" if wait is not None else ""
    return DownloadError(url, f"HTTP {code} {message}".strip() + asked, permanent=permanent, retry_after_s=wait)


def classify_exception(url: str, exc: BaseException) -> DownloadError:
    """Map a low-level exception to a DownloadError: certificate and URL errors are permanent, the rest not."""
    reason: str | BaseException = exc
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
    if isinstance(reason, ssl.SSLCertVerificationError):
        return DownloadError(url, f"TLS certificate rejected: {reason.verify_message}", permanent=True)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return DownloadError(url, "timed out", permanent=False)
    if isinstance(reason, (ConnectionError, http.client.HTTPException, OSError)):
        return DownloadError(url, f"{type(reason).__name__}: {reason}", permanent=False)
    if isinstance(reason, ValueError):
        return DownloadError(url, f"invalid URL: {reason}", permanent=True)
    return DownloadError(url, f"{type(reason).__name__}: {reason}", permanent=False)
