"""Counting what a loader skipped: corrupt samples, truncated tars, missing members.

Data errors never stop training: the webdataset handler below logs the error (with the shard URL and
sample key webdataset attaches) and counts it in a process-shared integer, so that the trainer can log
the total even when the errors happen inside DataLoader worker processes.
"""

from __future__ import annotations

import logging
import multiprocessing

log = logging.getLogger("avsep.shards")


class SampleError(ValueError):
    """A shard sample is unusable (missing or malformed member); the message names the URL, key and reason."""


class SkipCounter:
    """A picklable webdataset error handler: ``handler(exn) -> True`` (skip and continue) after logging and
    counting. ``value`` is the total over the main process and all DataLoader workers started after it.

    ``start_method`` must match the DataLoader's multiprocessing context (the shared integer is created there).
    """

    def __init__(self, start_method: str = "forkserver"):
        self._count = multiprocessing.get_context(start_method).Value("q", 0)

    def __call__(self, exn: BaseException) -> bool:
        with self._count.get_lock():
            self._count.value += 1
        log.warning("skipped unreadable shard data: %s: %s", type(exn).__name__, exn)
        return True

    @property
    def value(self) -> int:
        return int(self._count.value)
