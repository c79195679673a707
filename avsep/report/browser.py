"""Check a report in a real browser: headless Chromium loads the page and records every image's width.

The page's inline script (:data:`avsep.report.html.IMAGE_CHECK`) writes ``data-natural-width`` on each
``<img>`` after the load event; ``--dump-dom`` prints the DOM after it ran. An image that did not load has
width 0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",
)
VIRTUAL_TIME_MS = 10000  # lets every local image decode and the load handler run before the DOM is dumped
TIMEOUT_S = 120
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or the page did not run its image check."""


@dataclass(frozen=True)
class BrowserCheck:
    images: int  # <img> elements in the rendered DOM
    broken: tuple[str, ...]  # src of every image with naturalWidth 0
    screenshot: Path | None


def find_chromium() -> str | None:
    """The first Chromium-like binary on PATH, or ``None``."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(
    binary: str, args: list[str], profile: str, virtual_time_ms: int = VIRTUAL_TIME_MS
) -> subprocess.CompletedProcess:
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={virtual_time_ms}", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BrowserError(f"{binary}: no answer within {TIMEOUT_S} s") from None


def render_dom(url: str, binary: str | None = None, virtual_time_ms: int = VIRTUAL_TIME_MS) -> str:
    """The DOM of ``url`` once headless Chromium has run the page's scripts for ``virtual_time_ms`` (virtual
    time waits for pending requests, so a single-page app such as Prefect's UI has fetched and drawn its data).

    Raises BrowserError when Chromium is missing or fails.
    """
    binary = binary or find_chromium()
    if binary is None:
        raise BrowserError(f"no Chromium on PATH (tried {', '.join(CANDIDATES)}); apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="avsep-chromium-") as profile:
        done = _run(binary, ["--dump-dom", url], profile, virtual_time_ms)
    if done.returncode != 0:
        raise BrowserError(f"{binary} --dump-dom {url}: exit {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def check_report(
    index_html: str | Path,
    screenshot: str | Path | None = None,
    binary: str | None = None,
    window: tuple[int, int] = (1280, 2400),
) -> BrowserCheck:
    """Render ``index_html`` headless; return the image count and the images that did not load."""
    page = Path(index_html).resolve()
    if not page.is_file():
        raise BrowserError(f"{index_html}: no such report page")
    binary = binary or find_chromium()
    if binary is None:
        raise BrowserError(f"no Chromium on PATH (tried {', '.join(CANDIDATES)}); apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="avsep-chromium-") as profile:
        done = _run(binary, ["--dump-dom", page.as_uri()], profile)
        if done.returncode != 0:
            raise BrowserError(f"{binary} --dump-dom {page}: exit {done.returncode}: {done.stderr[-2000:]}")
        dom = done.stdout
        shot = None
        if screenshot is not None:
            shot = Path(screenshot).resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            done = _run(
                binary,
                [f"--screenshot={shot}", f"--window-size={window[0]},{window[1]}", "--hide-scrollbars", page.as_uri()],
                profile,
            )
            if done.returncode != 0 or not shot.is_file():
                raise BrowserError(f"{binary} --screenshot: exit {done.returncode}: {done.stderr[-2000:]}")
    if 'data-images="' not in dom:
        raise BrowserError(f"{page}: the page's image check did not run (no data-images on <body>)")
    images = [dict(_ATTR.findall(tag)) for tag in _IMG.findall(dom)]
    broken = tuple(img.get("src", "?") for img in images if img.get("data-natural-width", "0") == "0")
    return BrowserCheck(images=len(images), broken=broken, screenshot=shot)
