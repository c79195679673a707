"""A DVC remote on the S3 server, with the repository's own pipeline: the real ``dvc.yaml``'s ``world`` and
``dataset`` stages (real rendering, the real Prefect flow, real shards) on a shrunk world, pushed; a fresh clone
pulls them and ``dvc repro dataset`` runs no stage (docs/reproduce.md, "A DVC remote")."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avsep.config import load_tree
from avsep.config.document import render_params_yaml
from tests.conftest import REPO, subprocess_env

# What the world and dataset stages run and declare as deps (their commands run `avsep`, which imports this copy),
# and what keeps Python's bytecode out of the directory deps' hashes and out of git.
COPIED = ("dvc.yaml", ".dvcignore", ".gitignore", "avsep", "pipelines")
# As few clips as make every clip shard set (clips, C1..C4, both splits) and a cocktail set (four solo classes):
# short, at the tiny world's 64-pixel frames (tests/conftest.py), at the build's own audio rate and twice its frame
# rate, rendered in one process (a pool costs more than it saves on nine clips). Written into params.yaml itself,
# so the stages read them as `dvc repro` does.
TINY = [
    "world.counts.demo.train={solo: 4, duet: 0, k1: 1, k2: 1, k3: 1, k4: 1}",
    "world.counts.demo.val={solo: 0, duet: 0, k1: 0, k2: 0, k3: 0, k4: 0}",
    "world.counts.demo.test={solo: 1, duet: 0, k1: 0, k2: 0, k3: 0, k4: 0}",
    "world.width=64",
    "world.height=64",
    "world.duration_s=2.0",
    "world.fps=8.0",
    "world.sample_rate=16000",
    "media.encode.audio_rate=16000",
    "world.workers=1",
    "build.frame_size=64",
    "shards.max_samples=4",
    "build.mixing.cocktail_per_split={train: 2}",
    "build.mixing.nmix_per_split={}",  # an N-mix window (~6 s) is longer than these clips
]
# Every output of the two stages (dvc.yaml).
OUTPUTS = ("data/world", "data/shards", "data/clips", "data/manifest.parquet", "data/build-summary.json")


def _run(args: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def _digests(root: Path) -> dict[str, str]:
    """sha256 of every file of the stages' outputs under ``root``, by path."""
    files = [p for out in OUTPUTS for p in ([root / out] if (root / out).is_file() else (root / out).rglob("*"))]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def _origin(path: Path) -> None:
    path.mkdir()
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(REPO / name, path / name)
    (path / "params.yaml").write_text(render_params_yaml(load_tree(REPO / "params.yaml", TINY)), encoding="utf-8")


@pytest.mark.slow
def test_the_demo_stages_pushed_then_a_fresh_clone_pulls_and_reproduces_nothing(s3_server, prefect_api, tmp_path):
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    _origin(origin)
    dvc = [sys.executable, "-m", "dvc"]

    def env(repo: Path) -> dict:
        """The stages' `avsep` (the venv's entry point) imports ``repo``'s copy of the code."""
        return {
            **subprocess_env(tmp_path, prefect_api),
            **s3_server.env(),
            "PYTHONPATH": str(repo),
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(tmp_path / "site-cache"),
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    imported = _run(
        [sys.executable, "-c", "import avsep, pipelines; print(avsep.__file__, pipelines.__file__)"],
        origin,
        env(origin),
    )
    assert imported.split() == [str(origin / "avsep" / "__init__.py"), str(origin / "pipelines" / "__init__.py")]

    _run(["git", "init", "-q", "-b", "main"], origin, env(origin))
    _run([*dvc, "init", "-q"], origin, env(origin))
    _run([*dvc, "remote", "add", "-d", "store", f"s3://{s3_server.bucket}/dvc-remote"], origin, env(origin))
    _run([*dvc, "remote", "modify", "store", "endpointurl", s3_server.endpoint], origin, env(origin))
    built = _run([*dvc, "repro", "dataset"], origin, env(origin))
    assert "Running stage 'world'" in built and "Running stage 'dataset'" in built, built[-3000:]
    _run(["git", "add", "-A"], origin, env(origin))
    _run(["git", "commit", "-q", "-m", "the demo's first stages"], origin, env(origin))
    _run([*dvc, "push"], origin, env(origin))
    made = _digests(origin)
    sets = {p.parent.name for p in (origin / "data" / "shards").glob("*/*.tar")}
    assert sets == {"clips", "C1", "C2", "C3", "C4", "cocktail"}, sets

    _run(["git", "clone", "-q", str(origin), str(clone)], tmp_path, env(clone))
    assert not [out for out in OUTPUTS if (clone / out).exists()]
    # The two stages and what they depend on: the later stages were never run, so the plain command would fail
    # on their outputs, which no dvc.lock entry names.
    _run([*dvc, "pull", "--with-deps", "dataset"], clone, env(clone))
    # Byte for byte what the origin built: every shard, clip sample, video and the manifest.
    assert _digests(clone) == made
    assert "up to date" in _run([*dvc, "status", "--with-deps", "dataset"], clone, env(clone))
    out = _run([*dvc, "repro", "dataset"], clone, env(clone))
    assert "Running stage" not in out, out[-3000:]
    assert "Stage 'world' didn't change, skipping" in out and "Stage 'dataset' didn't change, skipping" in out, out
