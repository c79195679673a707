"""The one error every downloader raises: it names the URI, the reason and whether retrying can help."""

from __future__ import annotations


class DownloadError(RuntimeError):
    """A download failed.

    ``permanent`` failures (404, 410, removed or private video, too large, redirect loop) are recorded in
    the ledger and not retried in later runs; transient ones (timeouts, resets, 5xx) are retried with backoff
    and tried again next run.

        DownloadError: http://host/a.mp4: HTTP 404 Not Found (permanent)
    """

    def __init__(self, uri: str, reason: str, permanent: bool, attempts: int = 1):
        self.uri, self.reason, self.permanent, self.attempts = uri, reason, permanent, attempts
        kind = "permanent" if permanent else f"transient, {attempts} attempt{'s' if attempts != 1 else ''}"
        super().__init__(f"{uri[:200]}: {reason} ({kind})")
