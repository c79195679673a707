"""A real Prefect server on 127.0.0.1 (SQLite, analytics off) for the tests that need one: the server that
``avsep serve --with-server`` starts (pipelines.server), with its state under a folder of the test session."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines import server


def prefect_env(home: Path, api_url: str | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    else:
        env.pop("PREFECT_API_URL", None)
    return env


class PrefectServer(server.PrefectServer):
    def __init__(self, home: Path):
        # Any free port, never Prefect's 4200, which a person's own server may want.
        super().__init__(port=server.free_port(), log=home / "server.log", env=prefect_env(home))
        self.home = home

    def start(self, timeout_s: float = 300.0) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        super().start(timeout_s)
        return self
