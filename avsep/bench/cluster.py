"""A ``dask.distributed`` cluster of separate processes on 127.0.0.1: one ``dask scheduler`` and ``dask worker``
processes (one thread each, no nanny, so a worker is one process that can be killed), each worker in a working
folder of its own, as on machines that share no working folder with the flow. Used by ``avsep bench build
--runner dask`` and by the tests of the build on a cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path


class DaskProcesses(AbstractContextManager):
    """``home/scheduler`` and ``home/worker-N`` hold each process's working folder and ``log.txt``; ``env``: the
    processes' environment (the tasks import avsep and pipelines, and report to the flow's Prefect API)."""

    def __init__(self, home: Path, env: dict[str, str] | None = None):
        self.home = Path(home)
        self.env = dict(os.environ if env is None else env)
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        folder = self.home / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "log.txt", "wb") as log:  # the child keeps its own descriptor
            return subprocess.Popen(
                [sys.executable, "-m", f"distributed.cli.dask_{args[0]}", *args[1:]],
                cwd=folder,
                env={**self.env, "PREFECT_HOME": str(folder / ".prefect")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self, name: str) -> str:
        path = self.home / name / "log.txt"
        return path.read_text(errors="replace") if path.is_file() else ""

    def start(self, workers: int, timeout_s: float = 120.0) -> DaskProcesses:
        scheduler_file = self.home / "scheduler.json"
        args = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        self.scheduler = self._spawn("scheduler", [*args, "--scheduler-file", str(scheduler_file)])
        deadline = time.monotonic() + timeout_s
        while not scheduler_file.is_file():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dask scheduler did not start:\n{self.log('scheduler')[-3000:]}")
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(workers):
            self.add_worker()
        from distributed import Client

        with Client(self.address, timeout=max(1.0, deadline - time.monotonic())) as client:
            client.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
        return self

    def add_worker(self) -> subprocess.Popen:
        name = f"worker-{len(self.workers)}"
        args = ["worker", self.address, "--name", name, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny"]
        worker = self._spawn(name, [*args, "--no-dashboard", "--local-directory", str(self.home / name / "scratch")])
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL: the worker ends at once, as a lost machine does."""
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    def stop(self, timeout_s: float = 5.0) -> None:
        running = [p for p in [*self.workers, self.scheduler] if p is not None and p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __exit__(self, *exc) -> None:
        self.stop()
