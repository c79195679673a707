"""A researcher's own source through the whole flow (`avsep build`): real mp4 files, records from a module the test
writes, reached by a dotted path or by an entry point of a dist-info folder; the result is shards."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.download.server import make_mp4
from tests.sources.test_user_sources import write_lab


@pytest.mark.parametrize("registered", ["dotted path", "entry point"])
def test_a_user_source_builds_into_shards(prefect_api, tmp_path, registered):
    site = tmp_path / "site"
    site.mkdir()
    if registered == "dotted path":
        index, source = write_lab(site), "lab_source:load"
    else:
        index, source = write_lab(site, module="lab_plugin"), "lab"
        dist = site / "lab_plugin-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-plugin\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text("[avsep.sources]\nlab = lab_plugin:load\n")
    (site / "videos").mkdir()
    for name in ("cello 1", "flute", "erhu"):
        make_mp4(site / "videos" / f"{name}.mp4", seconds=2.0)
    sets = ["build.frame_size=32", "build.mixing.cocktail_per_split={}", "build.mixing.nmix_per_split={}"]
    cmd = avsep_cli() + ["build", "--source", source, "--index", str(index), "--out", "data"]
    cmd += ["--params", str(REPO / "params.yaml")] + [a for s in sets for a in ("--set", s)]
    env = subprocess_env(tmp_path, prefect_api)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]

    data = tmp_path / "data"
    manifest = pd.read_parquet(data / "manifest.parquet").set_index("clip_id")
    assert sorted(manifest.index) == sorted(["lab-erhu", "lab-flute", manifest.index[0]]) and len(manifest) == 3
    assert set(manifest["status"]) == {"ok"} and set(manifest["source"]) == {"lab"}
    assert manifest.loc["lab-erhu", "split"] == "test" and manifest.loc["lab-flute", "split"] == "train"
    summary = json.loads((data / "build-summary.json").read_text())
    assert summary["ok"] == 3 and summary["source"] == source
    members = set()
    for shard in sorted((data / "shards" / "clips").rglob("*.tar")):
        with tarfile.open(shard) as tar:
            members |= {Path(name).name.split(".")[0] for name in tar.getnames()}
    assert {"lab-erhu", "lab-flute"} <= members and len(members) == 3
