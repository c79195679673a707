"""A DVC remote on the S3 server: a tiny pipeline's outputs are pushed, a fresh clone pulls them and
``dvc repro`` runs no stage (docs/pipeline.md, "A DVC remote")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DVC_YAML = """\
stages:
  numbers:
    cmd: python -c "open('numbers.txt', 'w').write(' '.join(map(str, range(100))))"
    outs:
      - numbers.txt
  total:
    cmd: python -c "open('total.txt', 'w').write(str(sum(map(int, open('numbers.txt').read().split()))))"
    deps:
      - numbers.txt
    outs:
      - total.txt
"""


def _run(args: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout + done.stderr


@pytest.mark.slow
def test_push_then_a_fresh_clone_pulls_and_reproduces_nothing(s3_server, tmp_path):
    dvc = [sys.executable, "-m", "dvc"]
    env = {
        **os.environ,
        **s3_server.env(),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(tmp_path / "site-cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    origin = tmp_path / "origin"
    origin.mkdir()
    _run(["git", "init", "-q", "-b", "main"], origin, env)
    _run([*dvc, "init", "-q"], origin, env)
    (origin / "dvc.yaml").write_text(DVC_YAML)
    remote = f"s3://{s3_server.bucket}/dvc-remote"
    _run([*dvc, "remote", "add", "-d", "store", remote], origin, env)
    _run([*dvc, "remote", "modify", "store", "endpointurl", s3_server.endpoint], origin, env)
    _run([*dvc, "repro", "-q"], origin, env)
    _run(["git", "add", "-A"], origin, env)
    _run(["git", "commit", "-q", "-m", "pipeline"], origin, env)
    _run([*dvc, "push", "-q"], origin, env)

    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(origin), str(clone)], tmp_path, env)
    assert not (clone / "total.txt").exists()
    _run([*dvc, "pull", "-q"], clone, env)
    assert (clone / "total.txt").read_text() == "4950"
    assert "up to date" in _run([*dvc, "status"], clone, env)
    out = _run([*dvc, "repro"], clone, env)
    assert "Running stage" not in out
    assert out.count("didn't change, skipping") == 2, out
