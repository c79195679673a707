"""A real HTTP server on 127.0.0.1 for download tests, with routes that misbehave on purpose.

Routes (``name`` is a key of ``server.files``):
  /files/NAME          200 with Content-Length            /status/CODE        that status, empty body
  /flaky/N/NAME        500 for the first N hits, then 200 /reset/NAME         connection reset (RST)
  /hang                accepts, never answers             /slow/NAME          body in chunks, delay_s apart
  /loop/a, /loop/b     redirect to each other             /redirect/NAME      302 to /files/NAME
  /to-file             302 to file:///etc/passwd          /nolength/NAME      body with no Content-Length
  /truncated/NAME      Content-Length of NAME, half the body, then close
  /bare/NAME           200 with Content-Type video/mp4 (URL without a suffix)
  /busy/N/CODE/NAME    CODE (429, 503) with ``Retry-After: server.retry_after`` for the first N hits, then 200
Byte ranges (``Accept-Ranges: bytes`` and an ETag; a ``Range: bytes=K-`` request gets 206 from K):
  /ranged/NAME         every answer complete
  /cut/NAME            an answer without Range is cut after ``server.cut_bytes`` bytes (connection closed)
  /liar/NAME           advertises ranges, cuts its first answer, then ignores Range (200, whole file)
  /skew/NAME           cuts its first answer, then answers a Range with 206 from byte 0 (not what was asked)
``server.hits`` counts requests per path; ``server.ranges[path]`` lists each request's Range header (or None)
and ``server.cookies[path]`` its Cookie header.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import imageio_ffmpeg
import pytest

SLOW_CHUNKS = 5


def make_mp4(path: Path, seconds: float = 3.0, size: str = "64x48", fps: int = 10) -> Path:
    """A real small H.264/AAC mp4 (moov atom first, so it can be read while streaming)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={size}:rate={fps}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}:sample_rate=16000",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            "-shortest",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TestServer

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        path = self.path.split("?")[0]
        with self.server.lock:
            self.server.hits[path] += 1
            hits = self.server.hits[path]
            self.server.ranges[path].append(self.headers.get("Range"))
            self.server.cookies[path].append(self.headers.get("Cookie"))
        parts = path.strip("/").split("/")
        kind, rest = parts[0], parts[1:]
        if kind == "files":
            self._send_file(rest[0], head)
        elif kind == "busy":
            if hits <= int(rest[0]):
                self._send_empty(int(rest[1]), {"Retry-After": self.server.retry_after})
            else:
                self._send_file(rest[2], head)
        elif kind in ("ranged", "cut", "liar", "skew"):
            self._send_ranged(rest[0], kind, hits, head)
        elif kind == "bare":
            self._send_file(rest[0], head, content_type="video/mp4")
        elif kind == "status":
            self._send_empty(int(rest[0]))
        elif kind == "flaky":
            if hits <= int(rest[0]):
                self._send_empty(500)
            else:
                self._send_file(rest[1], head)
        elif kind == "reset":
            # SO_LINGER with zero timeout makes close() send RST: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif kind == "hang":
            self.server.stop.wait()
            self.close_connection = True
        elif kind == "slow":
            self._send_slow(rest[0])
        elif kind == "loop":
            self._redirect("/loop/b" if rest[0] == "a" else "/loop/a")
        elif kind == "redirect":
            self._redirect(f"/files/{rest[0]}")
        elif kind == "to-file":
            self._redirect("file:///etc/passwd")
        elif kind == "nolength":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(self.server.files[rest[0]])
            self.close_connection = True
        elif kind == "truncated":
            body = self.server.files[rest[0]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self._send_empty(404)

    def _send_file(self, name: str, head: bool, content_type: str | None = None) -> None:
        body = self.server.files.get(name)
        if body is None:
            self._send_empty(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_ranged(self, name: str, kind: str, hits: int, head: bool) -> None:
        body = self.server.files[name]
        asked = self.headers.get("Range")
        start = int(asked.removeprefix("bytes=").split("-")[0]) if asked else None
        if kind == "liar" and hits > 1:
            start = None
        if kind == "skew" and start is not None:
            start = 0
        cut = start is None and (kind == "cut" or (kind in ("liar", "skew") and hits == 1))
        if start is None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"v1"')
        self.end_headers()
        if head:
            return
        part = body[start or 0 :]
        if cut:
            self.wfile.write(part[: self.server.cut_bytes])
            self.wfile.flush()
            self.close_connection = True
            # Close the socket at once, so the client sees the body end short rather than a slow server.
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(part)

    def _send_slow(self, name: str) -> None:
        body = self.server.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step = max(1, -(-len(body) // SLOW_CHUNKS))
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            if self.server.stop.wait(self.server.delay_s):
                break

    def _send_empty(self, code: int, headers: dict[str, str | None] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        for key, value in (headers or {}).items():
            if value is not None:
                self.send_header(key, value)
        self.end_headers()

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class TestServer(ThreadingHTTPServer):
    __test__ = False  # not a test class for pytest
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.hits: Counter = Counter()
        self.ranges: defaultdict[str, list[str | None]] = defaultdict(list)
        self.cookies: defaultdict[str, list[str | None]] = defaultdict(list)
        self.retry_after: str | None = None
        self.cut_bytes = 1000
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.delay_s = 0.05

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up early (ffmpeg probing, timeouts under test) is expected; anything else is not.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@contextlib.contextmanager
def serving():
    """A :class:`TestServer` answering on 127.0.0.1 in a thread, shut down on exit."""
    server = TestServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server():
    with serving() as server:
        yield server


def free_port() -> int:
    """A port nobody listens on (bound then released): connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
