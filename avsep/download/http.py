"""HTTP(S) downloads: streamed to a temporary file, renamed when complete; failures classified.

Transient (retried with backoff): timeouts, refused/reset connections, truncated bodies, 408, 429, 5xx,
a server slower than ``total_timeout_s``. Permanent (recorded in the ledger): ``permanent_http_codes``
(404, 410, ...), other 4xx, files over ``max_bytes`` (by Content-Length, or counted while streaming),
redirect loops, too many redirects, redirects to a non-HTTP scheme, TLS certificate errors.
"""

from __future__ import annotations

import http.client
import mimetypes
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.paths import FALLBACK_SUFFIX, clean_suffix, destination
from avsep.download.retry import with_retries
from avsep.io import atomic_path

SCHEMES = ("http", "https")
REDIRECT_CODES = (301, 302, 303, 307, 308)
RETRYABLE_4XX = (408, 429)  # request timeout, too many requests: the server asks us to come back


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, to detect loops and refuse non-HTTP targets."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def download_http(url: str, dest_dir: str | Path, clip_id: str, params: DownloadParams, sleep=time.sleep) -> Path:
    """Download ``url`` to ``dest_dir/<clip_id><suffix>`` with retries; returns the final path.

    The suffix comes from the URL path (``.mp4``), else the Content-Type, else ``.bin``.
    Raises DownloadError (``permanent`` set as classified above).
    """
    destination(dest_dir, clip_id, FALLBACK_SUFFIX)  # refuse an unsafe id before any request
    return with_retries(lambda: _attempt(url, Path(dest_dir), clip_id, params), url, params, sleep)


def _attempt(url: str, dest_dir: Path, clip_id: str, params: DownloadParams) -> Path:
    deadline = time.monotonic() + params.total_timeout_s
    current, seen = url, [url]
    while True:
        request = urllib.request.Request(current, headers={"User-Agent": params.user_agent})
        try:
            response = _OPENER.open(request, timeout=params.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code not in REDIRECT_CODES:
                raise _http_status_error(url, exc.code, exc.reason, params) from None
            current = _next_hop(url, current, exc.headers.get("Location"), seen, params)
            continue
        except Exception as exc:  # every network failure is classified, none escapes raw
            raise classify_exception(url, exc) from exc
        with response:
            return _stream(url, response, dest_dir, clip_id, params, deadline)


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


def _stream(url, response, dest_dir: Path, clip_id: str, params: DownloadParams, deadline: float) -> Path:
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    if length is not None and length > params.max_bytes:
        raise DownloadError(url, f"Content-Length {length} bytes exceeds max_bytes {params.max_bytes}", permanent=True)
    final = destination(dest_dir, clip_id, _suffix(url, response.headers.get_content_type()))
    received = 0
    try:
        with atomic_path(final) as tmp, open(tmp, "wb") as out:
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
            if length is not None and received != length:
                raise DownloadError(url, f"connection closed after {received} of {length} bytes", permanent=False)
            out.flush()
    except DownloadError:
        raise
    except Exception as exc:  # reset or timeout mid-body
        raise classify_exception(url, exc) from exc
    return final


def _suffix(url: str, content_type: str) -> str:
    from_path = clean_suffix(PurePosixPath(unquote(urlsplit(url).path)).suffix)
    if from_path != FALLBACK_SUFFIX:
        return from_path
    return clean_suffix(mimetypes.guess_extension(content_type) or FALLBACK_SUFFIX)


def _http_status_error(url: str, code: int, message: str, params: DownloadParams) -> DownloadError:
    permanent = code in params.permanent_http_codes or (400 <= code < 500 and code not in RETRYABLE_4XX)
    return DownloadError(url, f"HTTP {code} {message}".strip(), permanent=permanent)


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
