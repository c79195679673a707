"""The ffmpeg binary (from imageio-ffmpeg, never the system's) and running it with a time limit."""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def file_url(path: str | Path) -> str:
    """``file:`` + absolute path, so names with ``:`` or a leading ``-`` are never read as options/protocols."""
    return "file:" + os.path.abspath(os.fspath(path))


def run(args: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
    """Run ``ffmpeg ARGS`` with no stdin, capturing output; raises ``subprocess.TimeoutExpired``."""
    return subprocess.run(
        [ffmpeg_exe(), *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s, check=False
    )


class Piped:
    """An ffmpeg process whose pipes are served by threads, so no pipe can fill up and deadlock.

    ``workers`` are callables started in threads once the process runs (each reads or writes one pipe);
    their return values are kept in ``results`` in the same order. ``wait`` joins everything, kills the
    process on timeout and returns ``(returncode, stderr_text)``.
    """

    def __init__(self, args: Sequence[str], *, stdin: bool = False, stdout: bool = False, pass_fds: Sequence[int] = ()):
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=tuple(pass_fds),
        )
        self.results: list = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._stderr = b""
        self._spawn(self._read_stderr)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None  # the process is always started with stderr=PIPE
        self._stderr = self.proc.stderr.read()

    def _spawn(self, fn: Callable, slot: int | None = None) -> None:
        def target():
            try:
                value = fn()
                if slot is not None:
                    self.results[slot] = value
            except BaseException as exc:  # noqa: BLE001 - surfaced by wait()
                self._errors.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start(self, *workers: Callable) -> Piped:
        self.results = [None] * len(workers)
        for slot, fn in enumerate(workers):
            self._spawn(fn, slot)
        return self

    def wait(self, timeout_s: float) -> tuple[int, str]:
        """Raises ``subprocess.TimeoutExpired`` (after killing ffmpeg) when it runs past ``timeout_s``."""
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            for thread in self._threads:
                thread.join()
        stderr = self._stderr.decode("utf-8", "replace")
        broken = [e for e in self._errors if not isinstance(e, (BrokenPipeError, ValueError))]
        if broken:
            raise broken[0]
        return code, stderr
