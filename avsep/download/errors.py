"""The one error every downloader raises: it names the URI, the reason and whether retrying can help."""

from __future__ import annotations


class DownloadError(RuntimeError):
    """A download failed.

    ``permanent`` failures (404, 410, removed or private video, too large, redirect loop) are recorded in
    the ledger and not retried in later runs; transient ones (timeouts, resets, 5xx) are retried with backoff
    and tried again next run.

    ``category`` and ``advice`` name the class of a recognised failure and what the user can do about it
    (:mod:`avsep.download.youtube_errors`); both end up in the clip's manifest error and in the ledger.
    ``retry_after_s``: the wait the server asked for (``Retry-After``), used instead of the backoff.
    ``retry_now=False``: transient, but retrying within this run cannot help (no JavaScript runtime, a
    premiere that has not aired): left to a later run at once.

        DownloadError: http://host/a.mp4: HTTP 404 Not Found (permanent)
        DownloadError: youtube:x: Sign in to confirm you’re not a bot (transient, 1 attempt) [bot_check: ...]
    """

    def __init__(
        self,
        uri: str,
        reason: str,
        permanent: bool,
        attempts: int = 1,
        *,
        category: str = "",
        advice: str = "",
        retry_after_s: float | None = None,
        retry_now: bool = True,
    ):
        self.uri, self.reason, self.permanent, self.attempts = uri, reason, permanent, attempts
        self.category, self.advice = category, advice
        self.retry_after_s, self.retry_now = retry_after_s, retry_now
        kind = "permanent" if permanent else f"transient, {attempts} attempt{'s' if attempts != 1 else ''}"
        what = f" [{category}: {advice}]" if category else ""
        super().__init__(f"{uri[:200]}: {reason} ({kind}){what}")

    def with_attempts(self, attempts: int) -> DownloadError:
        """The same failure, counting ``attempts`` attempts."""
        return DownloadError(
            self.uri,
            self.reason,
            self.permanent,
            attempts,
            category=self.category,
            advice=self.advice,
            retry_after_s=self.retry_after_s,
            retry_now=self.retry_now,
        )


class ConfigError(ValueError):
    """A download setting cannot be used (a missing cookies file): every clip would fail the same way.

    ConfigError: dataset.download.cookies_file = 'cookies.txt': no such file
    """

    def __init__(self, key: str, value: str, reason: str):
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"dataset.download.{key} = {value!r}: {reason}")
