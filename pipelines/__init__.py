"""Prefect flows and deployments: orchestration only, every step is a function of ``avsep``.

Importing this package changes nothing: a process that runs or serves a flow calls :func:`configure_prefect`
before it imports Prefect (``avsep build``, ``avsep serve``, :func:`pipelines.deployments.serve_rebuild`).
"""

import os


def configure_prefect() -> None:
    """Set this project's Prefect defaults in the environment, keeping any value already set.

    Call it before Prefect is imported, which reads them then: its SQLite server logs "database is locked" while
    analytics run, and a loaded small machine can take longer than Prefect's default 20 s to start the
    ephemeral API server.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
