"""Prefect flows and deployments: orchestration only, every step is a function of ``avsep``."""

import os

# Before Prefect is imported: its SQLite server logs "database is locked" while analytics run, and a
# loaded 2-core machine can take longer than Prefect's default 20 s to start the ephemeral API server.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
