"""The real ``avsep`` command in a subprocess: ``--version``, and a user's mistake is one line on stderr, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def avsep_command() -> list[str]:
    """The installed console script beside this interpreter (what a user types), else ``python -m avsep``."""
    script = Path(sys.executable).with_name("avsep")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "avsep"]


def run_avsep(args: list[str], cwd: Path, extra_path: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, PREFECT_HOME=str(cwd / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    # This checkout's avsep, whichever checkout the console script was installed from.
    paths = [str(REPO)] + ([str(extra_path)] if extra_path else []) + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    started = time.monotonic()
    result = subprocess.run(avsep_command() + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result, time.monotonic() - started


def test_version_is_the_package_version(tmp_path):
    result, _ = run_avsep(["--version"], tmp_path)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"avsep {version}"


PARAMS = str(REPO / "params.yaml")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "nosuch"], "avsep train: unknown model 'nosuch'; known: attention, "),
        (["evaluate", "nosuch"], "avsep evaluate: unknown model 'nosuch'; known: attention, "),
        (
            ["build", "--params", PARAMS, "--source", "folder", "--index", "{tmp}/videos"],
            "avsep build: {tmp}/videos: the folder source needs a folder",
        ),
        (
            ["build", "--params", PARAMS, "--index", "{tmp}/index.csv"],
            "avsep build: {tmp}/index.csv: index file not found",
        ),
        (["build", "--params", PARAMS, "--index", "{tmp}/bad.csv"], "avsep build: {tmp}/bad.csv: line 2: NUL byte"),
        (
            ["build", "--params", PARAMS, "--source", "audioset", "--index", "{tmp}/bad.csv"],
            "avsep build: dataset.ontology: the audioset source needs the path of ontology.json",
        ),
        (["build", "--params", "{tmp}/params.yaml"], "avsep build: {tmp}/params.yaml: parameter file not found"),
        (
            ["train", "dsol", "--params", "{tmp}/params.yaml"],
            "avsep train: {tmp}/params.yaml: parameter file not found",
        ),
        (
            ["train", "dsol", "--params", PARAMS, "--data", "{tmp}/data"],
            "avsep train: {tmp}/data: no shards/ folder; build the dataset first",
        ),
        (
            ["evaluate", "centre_prior", "--params", PARAMS, "--data", "{tmp}/data"],
            "avsep evaluate: {tmp}/data: no shards/ folder; build the dataset first",
        ),
        (["build", "--params", PARAMS, "--set", "world.seed"], "avsep build: --set 'world.seed': expected KEY=VALUE"),
        (
            ["build", "--params", PARAMS, "--set", "build.clips_per_task=0"],
            f"avsep build: {PARAMS}: build.clips_per_task = 0: Input should be greater than or equal to 1",
        ),
        (
            ["build", "--params", PARAMS, "--source", "nosuch"],
            "avsep build: --source: unknown source 'nosuch': built-in sources are world, music, audioset, ",
        ),
        (
            ["build", "--params", PARAMS, "--set", "dataset.source=nosuch"],
            f"avsep build: {PARAMS}: dataset.source = 'nosuch': Value error, unknown source 'nosuch': built-in",
        ),
        (
            ["build", "--params", PARAMS, "--set", "dataset.download.cookies_file={tmp}/cookies.txt"],
            "avsep build: dataset.download.cookies_file = '{tmp}/cookies.txt': no such file",
        ),
        (
            ["build", "--params", PARAMS, "--source", "no_such_lab_module:load", "--index", "x"],
            "avsep build: source 'no_such_lab_module:load': cannot import it: No module named 'no_such_lab_module'",
        ),
        (
            ["serve", "--params", PARAMS, "--port", "4200"],
            "avsep serve: --host/--port: they place the server that --with-server starts; add --with-server",
        ),
        (
            ["serve", "--with-server", "--params", PARAMS, "--set", "build.out_dir=/elsewhere"],
            "avsep serve: out_dir = '/elsewhere': outside build.allowed_roots",
        ),
    ],
)
def test_a_users_mistake_is_one_line_and_exit_status_2(tmp_path, args, expected):
    tmp = str(tmp_path)
    (tmp_path / "bad.csv").write_bytes(b"clip_id,path\nx\x00,y.mp4\n")
    result, _ = run_avsep([a.replace("{tmp}", tmp) for a in args], tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(expected.replace("{tmp}", tmp)), lines[0]
    # A mistake fails before any Prefect server or flow starts: nothing was written under PREFECT_HOME.
    assert not any((tmp_path / ".prefect").rglob("*.db")), sorted((tmp_path / ".prefect").rglob("*"))


def test_a_bug_keeps_its_traceback(tmp_path):
    """Only what a user can fix is shortened: an exception from inside code keeps the whole story."""
    (tmp_path / "broken_lab_source.py").write_text('raise RuntimeError("broken at import")\n')
    result, _ = run_avsep(
        ["build", "--params", PARAMS, "--source", "broken_lab_source:load", "--index", "x"], tmp_path, tmp_path
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: broken at import" in result.stderr


@pytest.mark.parametrize("profile", ["paper", "demo"])
def test_params_prints_what_the_active_profile_uses(tmp_path, profile):
    import yaml

    result, _ = run_avsep(["params", "--params", PARAMS, "--set", f"profile={profile}"], tmp_path)
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    from avsep.config import load_params

    params = load_params(PARAMS, [f"profile={profile}"])
    other = "demo" if profile == "paper" else "paper"
    # A value per profile is printed as the active one's; sections per profile keep only the active one.
    assert printed["dmc"]["lr"] == getattr(params.dmc.lr, profile)
    assert printed["mssl"]["optimizer"] == getattr(params.mssl.optimizer, profile)
    assert list(printed["profiles"]) == [profile]
    assert profile in printed["separation"] and other not in printed["separation"]
    assert printed["separation"][profile]["unet_filters"] == getattr(params.separation, profile).unet_filters
    assert printed["dsol"]["lambda"] == params.dsol.lambda_
