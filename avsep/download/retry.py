"""Retries with exponential backoff for transient download failures; a server's ``Retry-After`` wins."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError

log = logging.getLogger(__name__)
T = TypeVar("T")


def backoff_delay(attempt: int, params: DownloadParams) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0-based): backoff_s · factor^attempt, capped."""
    return min(params.backoff_s * params.backoff_factor**attempt, params.backoff_max_s)


def retry_delay(attempt: int, error: DownloadError, params: DownloadParams) -> float | None:
    """Seconds to wait before retrying after ``error``, or None when retrying within this run cannot help.

    The server's ``Retry-After`` replaces the backoff; one longer than ``retry_after_max_s`` is not waited
    out (a worker would sit idle for it) and not ignored either (asking earlier breaks the server's rule):
    the file is left to a later run.
    """
    if not error.retry_now:
        return None
    if error.retry_after_s is None:
        return backoff_delay(attempt, params)
    if error.retry_after_s > params.retry_after_max_s:
        return None
    return error.retry_after_s


def with_retries(attempt: Callable[[], T], uri: str, params: DownloadParams, sleep=time.sleep) -> T:
    """Run ``attempt`` until it succeeds, fails permanently, or ``params.retries`` retries are spent.

    The final DownloadError carries the number of attempts made.
    """
    for number in range(params.retries + 1):
        try:
            return attempt()
        except DownloadError as exc:
            delay = None if exc.permanent or number == params.retries else retry_delay(number, exc, params)
            if delay is None:
                final = exc.with_attempts(number + 1)
                if not exc.permanent and (exc.retry_after_s or 0) > params.retry_after_max_s:
                    final = DownloadError(
                        uri,
                        f"{exc.reason}; Retry-After {exc.retry_after_s:g} s is more than retry_after_max_s "
                        f"{params.retry_after_max_s:g}: left to a later run",
                        False,
                        number + 1,
                        category=exc.category,
                        advice=exc.advice,
                        retry_after_s=exc.retry_after_s,
                    )
                raise final from exc
            log.info("%s: %s; retry %d/%d in %.2f s", uri, exc.reason, number + 1, params.retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
