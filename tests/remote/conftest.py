"""One S3-compatible server (moto in server mode, a real HTTP server on 127.0.0.1) per test session, and the
environment every reader of it uses: credentials and endpoint from ``AWS_*`` variables, as on a real store."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helpers beside the tests: `import s3store`

import s3store


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def env(self) -> dict[str, str]:
        """What a process needs to reach the server: the store's usual variables, nothing in params."""
        return s3store.env(self.endpoint)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {key: os.environ.get(key) for key in s3store.env(endpoint)}
    os.environ.update(s3store.env(endpoint))  # this process's readers (and spawned DataLoader workers)
    s3store.client(endpoint).create_bucket(Bucket="avsep-test")
    try:
        yield S3Server(endpoint, "avsep-test")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
