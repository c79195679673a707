"""Session fixtures shared by the test packages.

``world_data``: a tiny built-in world (64×64, 11 classes) rendered with the real renderer and built into
shards by the real Prefect flow (``avsep world`` + ``avsep build`` in subprocesses, Prefect's ephemeral API),
once per run (one build shared by the pytest-xdist workers). Set ``AVSEP_TEST_CACHE=/some/dir`` to keep it
between sessions while developing (the cache key covers the overrides below and the sources of the world and
the build).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from tests.prefect_server import PrefectServer

REPO = Path(__file__).resolve().parents[1]

_COUNTS = {
    "train": {"solo": 22, "duet": 4, "k1": 2, "k2": 2, "k3": 2, "k4": 2},
    "val": {"solo": 0, "duet": 0, "k1": 0, "k2": 0, "k3": 0, "k4": 0},
    "test": {"solo": 11, "duet": 2, "k1": 1, "k2": 1, "k3": 1, "k4": 1},
}
WORLD_OVERRIDES = [
    f"world.counts.demo.{split}.{scene}={n}" for split, scenes in _COUNTS.items() for scene, n in scenes.items()
] + ["world.width=64", "world.height=64", "world.duration_s=6.0"]
BUILD_OVERRIDES = [
    "build.frame_size=64",
    "shards.max_samples=4",
    "build.mixing.cocktail_per_split={train: 8, test: 4}",
    "build.mixing.nmix_per_split={test: 4}",
]

# An AVC (or any ResNet-18 method) small enough to train a few steps in a test: no pre-trained backbones, a
# 4-wide ResNet on 32-px frames, batches of 4, loading in the test's own process.
TINY_AVC = [
    "pretrain.methods=[]",
    "shards.workers=0",
    "train.progress=false",
    "profile=demo",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "baselines.avc.embed_dim=8",
]


def avsep_cli() -> list[str]:
    return [sys.executable, "-m", "avsep"]


def subprocess_env(home: Path, api_url: str | None = None) -> dict:
    """Environment for an avsep subprocess: Prefect state under ``home``; the session's server if given
    (saves starting an ephemeral API server per run)."""
    env = dict(os.environ)
    env.update(
        {"PREFECT_HOME": str(home / ".prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
    )
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _sources_digest() -> str:
    digest = hashlib.sha256(repr(WORLD_OVERRIDES + BUILD_OVERRIDES).encode())
    for part in (
        "avsep/world",
        "avsep/media",
        "avsep/dataset",
        "avsep/shards",
        "avsep/features",
        "avsep/sources",
        "avsep/download",
        "pipelines",
        "params.yaml",
    ):
        paths = [REPO / part] if (REPO / part).is_file() else sorted((REPO / part).rglob("*.py"))
        for path in paths:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_world_data(root: Path, api_url: str | None = None) -> Path:
    """Render the tiny world and build it under ``root`` (``root/data``); returns ``root/data``."""
    root.mkdir(parents=True, exist_ok=True)
    params = ["--params", str(REPO / "params.yaml")]
    env = subprocess_env(root, api_url)
    sets = [a for o in WORLD_OVERRIDES for a in ("--set", o)]
    subprocess.run(
        avsep_cli() + ["world", "--out", "data/world", "--no-progress"] + params + sets,
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    sets = [a for o in BUILD_OVERRIDES for a in ("--set", o)]
    subprocess.run(
        avsep_cli() + ["build", "--index", "data/world/index.csv", "--out", "data"] + params + sets,
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return root / "data"


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """The API URL of a real Prefect server on 127.0.0.1 (SQLite, analytics off) for this test session."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-server")).start()
    yield server.api_url
    server.stop()


@pytest.fixture(scope="session")
def world_data(tmp_path_factory, request) -> Path:
    cache = os.environ.get("AVSEP_TEST_CACHE")
    if not cache and os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist the workers of one run share one build (the tests only read it) in the run's common
        # temporary folder: a second build would cost each worker the same minute of CPU.
        cache = str(tmp_path_factory.getbasetemp().parent)
    if not cache:
        return build_world_data(tmp_path_factory.mktemp("world"), request.getfixturevalue("prefect_api"))
    root = Path(cache) / f"world-{_sources_digest()}"
    with FileLock(f"{root}.lock"):  # one builder; the others wait for its result instead of building their own
        if not (root / "data" / "build-summary.json").is_file():
            # Build beside it and rename: concurrent sessions never see (or write into) a half-built cache.
            scratch = root.with_name(f"{root.name}.{os.getpid()}.partial")
            shutil.rmtree(scratch, ignore_errors=True)
            build_world_data(scratch, request.getfixturevalue("prefect_api"))
            try:
                scratch.rename(root)
            except OSError:  # another session finished first
                shutil.rmtree(scratch, ignore_errors=True)
    return root / "data"


def pytest_collection_modifyitems(config, items):
    """Slow-marked tests first (a stable sort keeps the rest in file order): under pytest-xdist the minute-long
    ones then start while the short ones are left to fill both workers at the end, rather than one worker
    running a long test alone after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
