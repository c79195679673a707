"""The process pool that scores localization maps (``evaluate.workers``): started on first use, one per run.

Scoring a frame resizes each of its maps to ``map_size`` and thresholds it (numpy, one core); the maps
themselves are small (``(K, h, w)`` at the model's grid), so shipping them to another process costs less than
scoring them once there are enough frames. :meth:`ScoringPool.map` calls each job (a picklable callable,
e.g. a ``functools.partial`` of a function of :mod:`avsep.metrics.localization`) and returns the results in
the jobs' order, whether they ran here or in the pool: the scores are the same either way.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

IN_PROCESS = 1  # evaluate.workers = 1: no pool
CHUNKS_PER_WORKER = 2  # jobs per worker and protocol: few enough that pickling stays small against scoring


def cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or ``taskset`` limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int) -> int:
    """``evaluate.workers`` as a number of processes: 0 is one per core; 1 is this process alone."""
    if workers < 0:
        raise ValueError(f"evaluate.workers = {workers}: expected 0 (one per core), 1 (in-process) or more")
    return cores() if workers == 0 else workers


def chunks(n: int, parts: int) -> list[slice]:
    """``n`` items cut into at most ``parts`` consecutive, nearly equal, non-empty slices, in order."""
    parts = max(1, min(parts, n))
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _one_thread() -> None:
    """Pool initializer: each worker computes on one core (no oversubscription of the pool's cores)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # numpy's BLAS; scoring imports no torch


def _call(job: Callable[[], Any]) -> Any:
    return job()


class ScoringPool:
    """``workers`` processes (forkserver, one thread each), started by the first :meth:`map` that has more
    than one job; :meth:`close` stops them. With ``workers`` <= 1 every job runs in this process."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    @property
    def parallel(self) -> bool:
        return self.workers > IN_PROCESS

    def parts(self) -> int:
        """How many chunks to cut one protocol's frames into."""
        return self.workers * CHUNKS_PER_WORKER if self.parallel else 1

    def map(self, jobs: Sequence[Callable[[], Any]]) -> list[Any]:
        if not self.parallel or len(jobs) <= 1:
            return [job() for job in jobs]
        if self._executor is None:
            # The server imports numpy and the metrics once; each worker forks from it ready to score.
            multiprocessing.set_forkserver_preload(["avsep.metrics.localization", __name__])
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_one_thread)
        return list(self._executor.map(_call, jobs))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
