"""A Prefect server as a child process of ``avsep serve --with-server``: started on a chosen or free port,
waited for until its API answers, and stopped when the command ends.

Importing this module imports no Prefect: the server is the ``prefect`` command, run with ``sys.executable``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

DEFAULT_PORT = 4200  # Prefect's own, so the UI is where Prefect's documentation says it is
# A loaded 2-core machine takes far longer than Prefect's usual few seconds to migrate a new database and start.
STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


class ServerError(RuntimeError):
    """The Prefect server could not start (port taken, exited, not healthy in time); the message says why."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS has just found free on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def choose_port(host: str, port: int | None) -> int:
    """``port`` if given and free; without it, :data:`DEFAULT_PORT` when free, else any free port.

    Raises ServerError when the given port is taken.
    """
    if port is not None:
        if not port_is_free(host, port):
            raise ServerError(f"--port {port}: already in use on {host}; choose another or leave --port out")
        return port
    return DEFAULT_PORT if port_is_free(host, DEFAULT_PORT) else free_port(host)


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs before ``exec`` so that the kernel stops it when its parent dies: a SIGKILLed parent
    runs no cleanup, and the server would keep the port and the database. Linux only (prctl PR_SET_PDEATHSIG);
    elsewhere the parent's own stop is all there is."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child only calls it
    return lambda: prctl(1, signal.SIGTERM)


class PrefectServer:
    """``prefect server start`` on ``host``:``port`` (a free one when ``port`` is ``None``), output to ``log``.

    Use as a context manager, or :meth:`start` then :meth:`stop`. The server's UI talks to this server's API
    (``PREFECT_API_URL`` is set for it; Prefect's default would be port 4200 whatever port it listens on).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        log: Path | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.host = host
        self.port = choose_port(host, port)
        self.url = f"http://{host}:{self.port}"
        self.api_url = f"{self.url}/api"
        home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
        self.log = log if log is not None else home / "server.log"
        self.env = dict(os.environ if env is None else env)
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> PrefectServer:
        """Start the server and return once ``/api/health`` answers; raise ServerError (with the end of the
        server's log) when it exits or does not answer within ``timeout_s``."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "PREFECT_API_URL": self.api_url}
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # see pipelines.configure_prefect
        prefect = [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port)]
        with open(self.log, "wb") as log:  # the server writes to its own copy of the descriptor
            # Its own session: a Ctrl-C in the terminal reaches the command, which stops the server in order.
            self.process = subprocess.Popen(
                prefect,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"prefect server on {self.url} exited ({self.process.returncode}): {self._tail()}")
            if self.healthy():
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"prefect server on {self.url}: no answer within {timeout_s:.0f} s: {self._tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`); nothing if it is not running."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):  # it may have exited since the poll
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _tail(self, chars: int = 2000) -> str:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return f"{self.log}: ...{text[-chars:]}" if text else f"{self.log}: empty"

    def __enter__(self) -> PrefectServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
