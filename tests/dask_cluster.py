"""A real ``dask.distributed`` cluster on 127.0.0.1 for the tests that need one: ``dask scheduler`` and
``dask worker`` processes (no nanny, so a worker is one process a test can SIGKILL), each worker in a working
folder of its own, none of them the build's, so a task that gets a relative path fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class DaskCluster:
    def __init__(self, home: Path, api_url: str):
        self.home = home
        self.api_url = api_url
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _env(self, home: Path) -> dict:
        env = dict(os.environ)
        # The tasks import avsep and pipelines from this checkout, and report to the test session's Prefect server.
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PREFECT_HOME": str(home / ".prefect"),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        folder = self.home / name
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "log.txt", "wb")  # noqa: SIM115 (the process keeps it; closed with the file object)
        return subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]],
            cwd=folder,
            env=self._env(folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, workers: int, timeout_s: float = 120.0) -> DaskCluster:
        scheduler_file = self.home / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        )
        deadline = time.monotonic() + timeout_s
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            self._check_alive(self.scheduler, "scheduler")
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(workers):
            self.add_worker()
        self.wait_for_workers(workers, deadline - time.monotonic())
        return self

    def add_worker(self) -> subprocess.Popen:
        name = f"worker-{len(self.workers)}"
        worker = self._spawn(
            name,
            [
                "worker",
                self.address,
                "--name",
                name,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--local-directory",
                str(self.home / name / "scratch"),
            ],
        )
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int, timeout_s: float) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout_s) as client:
            client.wait_for_workers(n, timeout=timeout_s)

    def _check_alive(self, process: subprocess.Popen, name: str) -> None:
        if process.poll() is not None:
            log = (self.home / name / "log.txt").read_text(errors="replace")
            raise RuntimeError(f"dask {name} exited ({process.returncode}):\n{log[-3000:]}")

    def kill(self, worker: subprocess.Popen) -> None:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
