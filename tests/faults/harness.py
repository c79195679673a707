"""What every fault case needs: tiny inputs, the real build flow, and the checks that nothing was lost.

The flow runs in-process (``build_dataset`` itself) against the session's real Prefect server, or as
``avsep build`` in a subprocess when the test kills it. Each check is a plain function so the cases read as
"this fault -> this row, nothing half-written, rows kept, the re-run completes".
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from avsep.dataset.manifest import load_manifest
from avsep.world.writer import INDEX_COLUMNS
from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.download.server import make_mp4

KILLPOINT = Path(__file__).with_name("killpoint.py")
# Tiny builds: 32x32 frames at 2 fps, 2 samples per shard (so kills can land between shards), no mixture sets.
TINY = [
    "build.frame_size=32",
    "build.fps=2.0",
    "build.mixing.cocktail_per_split={}",
    "build.mixing.nmix_per_split={}",
    "shards.max_samples=2",
    "build.clips_per_task=1",
    "build.max_workers=1",
]
WORLD_COLUMNS = INDEX_COLUMNS  # the world index's columns, as the world writer writes them


def tiny_mp4(path: Path, seconds: float = 1.0) -> Path:
    """A 64x64, 10 fps H.264/AAC mp4 with its header first (so truncation cuts the data, not the header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_mp4(path, seconds=seconds, size="64x64")


def world_row(clip_id: str, path: str, labels: str = "cello", split: str = "train", end_s: float = 1.0) -> dict:
    return {
        "clip_id": clip_id,
        "path": path,
        "annotation": "",
        "start_s": 0,
        "end_s": end_s,
        "labels": labels,
        "visible": labels,
        "split": split,
        "scene": "solo",
        "n_sources": 1,
    }


def write_world_index(path: Path, rows: list[dict]) -> Path:
    """A world-source index (the media paths are relative to its folder)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=WORLD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run_flow(cwd: Path, index: Path, api_url: str, source: str = "world", extra: Sequence[str] = (), **kwargs) -> dict:
    """The real ``build-dataset`` flow, in this process, building ``cwd/data``; returns its summary."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.build_dataset import build_dataset

    with contextlib.chdir(cwd), temporary_settings({PREFECT_API_URL: api_url}):
        return build_dataset(
            source=source,
            index=str(index),
            out_dir="data",
            params_file=str(REPO / "params.yaml"),
            overrides=TINY + list(extra),
            **kwargs,
        )


def build_command(index: Path, source: str = "world", extra: Sequence[str] = ()) -> list[str]:
    sets = [a for o in TINY + list(extra) for a in ("--set", o)]
    return [
        "build",
        "--source",
        source,
        "--index",
        str(index),
        "--out",
        "data",
        "--params",
        str(REPO / "params.yaml"),
        *sets,
    ]


def run_killed(cwd: Path, api_url: str, program: list[str], *fault: str) -> subprocess.CompletedProcess:
    """Run ``program`` (argv after ``python``) under :mod:`killpoint` with ``fault`` options."""
    cmd = [sys.executable, str(KILLPOINT), *fault, "--", *program]
    return subprocess.run(cmd, cwd=cwd, env=subprocess_env(cwd, api_url), capture_output=True, text=True, timeout=300)


def avsep_program(args: list[str]) -> list[str]:
    """``avsep ARGS`` as a program for :func:`run_killed`."""
    return [*avsep_cli()[1:], *args]


def manifest(data: Path) -> pd.DataFrame:
    """The manifest as a reader sees it: ``manifest.parquet`` and the parts a killed build left (empty if none)."""
    return load_manifest(data / "manifest.parquet").set_index("clip_id")


def shard_digests(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data / "shards").rglob("*.tar"))
    }


def half_written(data: Path) -> list[str]:
    """Files under a final (non-hidden) name that are not complete: unreadable tars, parquet or JSON.

    Hidden ``.*.partial`` files are what a kill leaves of an atomic write; they never carry a final name.
    """
    bad = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        if path.name.startswith(".") and path.name.endswith(".partial"):
            continue
        try:
            if path.suffix == ".tar":
                with tarfile.open(path) as tar:
                    for info in tar.getmembers():
                        member = tar.extractfile(info)
                        if member is None:  # a directory or special file: avsep's tars hold regular files only
                            raise ValueError(f"member {info.name!r} is not a regular file")
                        member.read()
            elif path.suffix == ".parquet":
                pd.read_parquet(path)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - any failure to read back is a half-written file
            bad.append(f"{path}: {type(exc).__name__}: {exc}")
    return bad


def partials(data: Path) -> list[Path]:
    return sorted(data.rglob("*.partial"))


def snapshot(root: Path, skip: Path | None = None) -> dict[str, int]:
    """``relative path -> size`` of every file and folder under ``root`` (``skip`` and below left out)."""
    out = {}
    for path in root.rglob("*"):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        out[str(path.relative_to(root))] = path.stat().st_size if path.is_file() else -1
    return out
