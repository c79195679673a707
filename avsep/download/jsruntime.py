"""The JavaScript runtime yt-dlp needs for YouTube: the deno binary of the ``deno`` package.

YouTube hides its media URLs behind JavaScript challenges (the "n" and signature functions of its player).
yt-dlp solves them only by running the solver scripts of ``yt-dlp-ejs`` in a JavaScript runtime; without
one it sees no usable formats and says "Requested format is not available". avsep passes the runtime to
yt-dlp explicitly (``js_runtimes``), so it never depends on what happens to be on ``PATH``.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil

log = logging.getLogger(__name__)
INSTALL = "pip install deno==2.9.8 yt-dlp-ejs==0.8.0 (both pinned in requirements.lock)"


@functools.cache
def deno_path() -> str | None:
    """The deno executable: the ``deno`` package's, else one on ``PATH``; None if there is none."""
    try:
        from deno import find_deno_bin

        path: str | None = os.fsdecode(find_deno_bin())
    except (ImportError, FileNotFoundError):
        path = shutil.which("deno")
    return path if path and os.access(path, os.X_OK) else None


def solver_scripts_installed() -> bool:
    """Whether yt-dlp can import the challenge solver scripts (the ``yt-dlp-ejs`` package)."""
    from yt_dlp.dependencies import yt_dlp_ejs

    return yt_dlp_ejs is not None


def missing() -> str | None:
    """What YouTube's challenges lack here, with what to install; None when both parts are there."""
    lacking = [name for name, ok in (("deno", deno_path()), ("yt-dlp-ejs", solver_scripts_installed())) if not ok]
    if not lacking:
        return None
    return f"no JavaScript challenge solver ({' and '.join(lacking)} missing): {INSTALL}"


@functools.cache
def warn_if_missing() -> None:
    """Say once per process that YouTube downloads will mostly fail, and why."""
    lack = missing()
    if lack is not None:
        log.warning("YouTube downloads: %s; without it most videos have no downloadable format", lack)


def js_runtimes_option() -> dict[str, dict[str, str]]:
    """yt-dlp's ``js_runtimes``: deno at its exact path, or deno by name when none was found (yt-dlp's default)."""
    path = deno_path()
    return {"deno": {"path": path}} if path else {"deno": {}}
