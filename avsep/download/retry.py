"""Retries with exponential backoff for transient download failures."""

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


def with_retries(attempt: Callable[[], T], uri: str, params: DownloadParams, sleep=time.sleep) -> T:
    """Run ``attempt`` until it succeeds, fails permanently, or ``params.retries`` retries are spent.

    The final DownloadError carries the number of attempts made.
    """
    for number in range(params.retries + 1):
        try:
            return attempt()
        except DownloadError as exc:
            if exc.permanent or number == params.retries:
                raise DownloadError(uri, exc.reason, exc.permanent, attempts=number + 1) from exc
            delay = backoff_delay(number, params)
            log.info("%s: %s; retry %d/%d in %.2f s", uri, exc.reason, number + 1, params.retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
