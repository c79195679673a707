"""How fast one worker asks: a pause between downloads, a byte-rate cap, and the server's ``Retry-After``.

Every wait goes through a ``sleep`` function the caller passes (``time.sleep`` in production), so a test
can record the waits the code decides instead of timing them.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC

from avsep.config.dataset import DownloadParams

Sleep = Callable[[float], object]


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (RFC 9110: delta-seconds or an HTTP-date).

    None when there is no header or it is neither form (the caller falls back to its backoff); a date in
    the past is 0. ``now``: the Unix time to count from (default: the clock).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP-date means UTC too
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Throttle:
    """Keeps one download at or under ``rate`` bytes/s on average since its first byte (None: no cap).

    After each chunk it sleeps for as long as the bytes so far are ahead of the allowed schedule.
    """

    def __init__(self, rate: int | None, sleep: Sleep, clock: Callable[[], float] = time.monotonic):
        self.rate, self.sleep, self.clock = rate, sleep, clock
        self.start = clock()
        self.total = 0

    def account(self, nbytes: int) -> float:
        """Count ``nbytes`` just read; sleep if they came too fast. Returns the wait decided (0 if none)."""
        if not self.rate:
            return 0.0
        self.total += nbytes
        ahead = self.total / self.rate - (self.clock() - self.start)
        if ahead <= 0:
            return 0.0
        self.sleep(ahead)
        return ahead


class Pacer:
    """The pause of one worker (thread) between two of its downloads: ``sleep_s`` + U(0, ``jitter_s``).

    The first download of a worker does not wait. Only downloads that go to the network are paced;
    finished files, ledger hits and local files are not requests.
    """

    def __init__(self, rng: random.Random | None = None):
        self._local = threading.local()
        self._rng = rng or random.Random()

    def wait(self, params: DownloadParams, sleep: Sleep) -> float:
        """Sleep before this worker's next request, if it made one before; returns the wait decided."""
        first = not getattr(self._local, "started", False)
        self._local.started = True
        if first or (params.sleep_s == 0 and params.jitter_s == 0):
            return 0.0
        delay = params.sleep_s + self._rng.uniform(0, params.jitter_s)
        sleep(delay)
        return delay


PACER = Pacer()  # one per process; its state is per thread
