"""The test's Dask cluster: :class:`avsep.bench.cluster.DaskProcesses` whose tasks import this checkout and report
to the test session's Prefect server; no worker shares the flow's working folder, so a task given a relative
path fails."""

from __future__ import annotations

import os
from pathlib import Path

from avsep.bench.cluster import DaskProcesses

REPO = Path(__file__).resolve().parents[1]


def dask_cluster(home: Path, api_url: str, workers: int = 2) -> DaskProcesses:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return DaskProcesses(home, env).start(workers)
