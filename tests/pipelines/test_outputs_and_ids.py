"""Real builds (``avsep build`` in a subprocess, real mp4 files) into an output folder outside the project and
behind a symbolic link; file names with dots, spaces and unicode become valid ids for every stage; malformed
index entries keep a row of their own while the valid ones are built."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from avsep.io import is_valid_id
from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.download.server import make_mp4

SMALL = [
    "build.frame_size=32",
    "build.mixing.cocktail_per_split={}",
    "build.mixing.nmix_per_split={}",
]
# Names a person's own folder may hold; each must become a clip (the dot one used to fail the whole build).
NAMES = ["cello/take.2.mp4", "cello/take two.mp4", "flute/caf\u00e9 \u6f22\u5b57.mp4"]


def build(cwd: Path, api: str, *args: str, sets: list[str] = SMALL) -> subprocess.CompletedProcess:
    cmd = (
        avsep_cli() + ["build", *args, "--params", str(REPO / "params.yaml")] + [a for s in sets for a in ("--set", s)]
    )
    return subprocess.run(cmd, cwd=cwd, env=subprocess_env(cwd, api), capture_output=True, text=True)


def shard_keys(data: Path) -> list[str]:
    keys = []
    for shard in sorted((data / "shards" / "clips").glob("*.tar")):
        with tarfile.open(shard) as tar:
            keys += sorted({name.split(".", 1)[0] for name in tar.getnames()})
    return keys


@pytest.fixture(scope="module")
def own_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own") / "videos"
    for name in NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        make_mp4(root / name, seconds=1.0)
    return root


def check_built(data: Path) -> None:
    manifest = pd.read_parquet(data / "manifest.parquet")
    assert sorted(manifest["status"]) == ["ok"] * len(NAMES), manifest[["clip_id", "status", "error"]]
    ids = sorted(manifest["clip_id"])
    assert all(is_valid_id(i) and "." not in i for i in ids), ids
    assert any(i.startswith("cello-take_2-") for i in ids), ids
    assert sorted(shard_keys(data)) == ids  # every clip reached the shards (of its split) under its id


def test_build_into_a_folder_outside_the_project(own_folder, prefect_api, tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "other-disk" / "data"
    project.mkdir()
    result = build(project, prefect_api, "--source", "folder", "--index", str(own_folder), "--out", str(elsewhere))
    assert result.returncode == 0, result.stderr[-3000:]
    check_built(elsewhere)
    assert not (project / "data").exists()
    assert not Path(elsewhere).is_relative_to(REPO)


def test_build_into_a_data_folder_that_is_a_symlink(own_folder, prefect_api, tmp_path):
    project, disk = tmp_path / "project", tmp_path / "big-disk" / "avsep-data"
    project.mkdir()
    disk.mkdir(parents=True)
    (project / "data").symlink_to(disk, target_is_directory=True)
    result = build(project, prefect_api, "--source", "folder", "--index", str(own_folder), "--out", "data")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / "data").is_symlink()  # the link stays; the files land on the other disk
    check_built(disk)
    again = build(project, prefect_api, "--source", "folder", "--index", str(own_folder), "--out", "data")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["ok"] == len(NAMES)


def test_malformed_music_entries_get_invalid_rows_and_the_valid_ones_are_built(prefect_api, tmp_path):
    valid = ["aaaaaaaaaa1", "bbbbbbbbbb2"]
    index = tmp_path / "music.json"
    index.write_text(json.dumps({"videos": {"cello": [valid[0], "/etc/passwd", "a;b", 7], "flute": [valid[1]]}}))
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for video_id in valid:  # downloads finished by an earlier run (YouTube itself is not reachable from tests)
        make_mp4(raw / f"music-{video_id}.mp4", seconds=1.0)
    sets = [*SMALL, "dataset.music_test_per_class=0"]
    result = build(tmp_path, prefect_api, "--source", "music", "--index", str(index), "--out", "data", sets=sets)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = pd.read_parquet(tmp_path / "data" / "manifest.parquet")
    ok = manifest[manifest["status"] == "ok"]
    assert sorted(ok["clip_id"]) == [f"music-{v}" for v in valid]
    invalid = manifest[manifest["status"] == "invalid"]
    assert len(invalid) == 3 and len(manifest) == 5
    errors = " | ".join(invalid["error"])
    for where, reason in (("cello[1]", "'/etc/passwd'"), ("cello[2]", "'a;b'"), ("cello[3]", "got int")):
        assert where in errors and reason in errors, errors
    summary = json.loads((tmp_path / "data" / "build-summary.json").read_text())
    assert summary["ok"] == 2 and summary["failed_by_step"] == {"invalid": 3}
    assert shard_keys(tmp_path / "data") == [f"music-{v}" for v in valid]
