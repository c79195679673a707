"""The environment a report was made in: git revision, params hash, package versions, device."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from avsep.config import Params, params_hash


def git_revision(repo: Path = Path(".")) -> str:
    """``<sha>`` or ``<sha> (uncommitted changes)``; ``"unknown (not a git checkout)"`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{sha} (uncommitted changes)" if dirty else sha


def package_versions(names: list[str]) -> dict[str, str]:
    """Installed version of each distribution, ``"not installed"`` where absent; in the given order."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device() -> str:
    """The accelerator torch sees, else the CPU with its core count."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
    except ImportError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def environment(params: Params, repo: Path = Path(".")) -> dict[str, str]:
    """Ordered facts for the report's environment table (no clock time, so reports are reproducible)."""
    return {
        "git revision": git_revision(repo),
        "params hash": params_hash(params),
        "python": platform.python_version(),
        **package_versions(params.report.packages),
        "device": device(),
        "platform": platform.platform(),
    }
