"""The build-dataset flow end to end on the tiny world: real ffmpeg, real Prefect, real tars."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pandas as pd
import pytest
import webdataset as wds

from avsep.dataset.manifest import load_manifest, manifest_parts
from tests.conftest import BUILD_OVERRIDES, REPO, avsep_cli, subprocess_env

SETS = ("clips", "C1", "C2", "C3", "C4", "cocktail", "nmix2", "nmix3")


def shard_digests(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data / "shards").rglob("*.tar"))
    }


def split_index(world_data: Path, split: str, folder: Path) -> Path:
    """The tiny world's ``split`` alone: its rows as an index in ``folder`` beside copies of their files (an index
    names files inside its own folder). A split's shards are made from its own clips only, so a build of it has
    the bytes of that split's shards in the whole build (:func:`split_digests`) at a third of the clips."""
    index = pd.read_csv(world_data / "world" / "index.csv", dtype=str, keep_default_na=False)
    rows = index[index["split"] == split]
    for name in [*rows["path"], *rows["annotation"]]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(world_data / "world" / name, folder / name)
    rows.to_csv(folder / "index.csv", index=False)
    return folder / "index.csv"


def split_digests(data: Path, split: str) -> dict[str, str]:
    """:func:`shard_digests` of the shards of ``split``, which has a shard in every set of the tiny world."""
    digests = {name: d for name, d in shard_digests(data).items() if Path(name).name.startswith(f"{split}-")}
    assert {Path(name).parent.name for name in digests} == set(SETS), sorted(digests)
    return digests


def build(cwd: Path, index: Path, api_url: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    sets = [a for o in BUILD_OVERRIDES + list(extra) for a in ("--set", o)]
    return subprocess.run(
        avsep_cli() + ["build", "--index", str(index), "--out", "data", "--params", str(REPO / "params.yaml")] + sets,
        cwd=cwd,
        env=subprocess_env(cwd, api_url),
        capture_output=True,
        text=True,
        check=check,
    )


def test_build_writes_shards_manifest_and_summary(world_data):
    summary = json.loads((world_data / "build-summary.json").read_text())
    manifest = pd.read_parquet(world_data / "manifest.parquet")
    index = pd.read_csv(world_data / "world" / "index.csv")
    assert summary["ok"] == len(index) == len(manifest) and summary["failed"] == 0
    assert set(manifest["status"]) == {"ok"}
    assert summary["per_curriculum"] == dict(sorted(manifest["curriculum"].value_counts().items()))
    for set_name in SETS:
        sizes = json.loads((world_data / "shards" / set_name / "sizes.json").read_text())
        assert sizes and all((world_data / "shards" / set_name / name).is_file() for name in sizes)
    sizes = json.loads((world_data / "shards" / "clips" / "sizes.json").read_text())
    assert sum(sizes.values()) == len(index)
    # Readable by tar and by the webdataset library, with the contract's members.
    shard = world_data / "shards" / "clips" / "train-000000.tar"
    names = subprocess.run(["tar", "-tf", str(shard)], capture_output=True, text=True, check=True).stdout.split()
    key = names[0].split(".")[0]
    assert {f"{key}.json", f"{key}.wav", f"{key}.logmel.npy", f"{key}.000.jpg"} <= set(names)
    sample = next(iter(wds.WebDataset(str(shard), shardshuffle=False)))
    meta = json.loads(sample["json"])
    assert meta["clip_id"] == sample["__key__"] and meta["objects"] and len(meta["objects"][0]["boxes"]) == 24
    no_partials = list(world_data.rglob("*.partial"))
    assert no_partials == []


def test_second_build_does_no_work(world_data, prefect_api):
    before = shard_digests(world_data)
    mtimes = {p: p.stat().st_mtime_ns for p in (world_data / "clips").iterdir()}
    result = build(world_data.parent, world_data / "world" / "index.csv", prefect_api)
    assert f"{len(mtimes)} clips up to date, 0 to build" in result.stdout + result.stderr
    assert {p: p.stat().st_mtime_ns for p in (world_data / "clips").iterdir()} == mtimes
    assert shard_digests(world_data) == before


def test_sigkill_then_rerun_gives_identical_shards(world_data, prefect_api, tmp_path):
    index = split_index(world_data, "test", tmp_path / "world")
    cmd = avsep_cli() + ["build", "--index", str(index), "--out", "data", "--params", str(REPO / "params.yaml")]
    cmd += [a for o in BUILD_OVERRIDES + ["build.clips_per_task=2", "build.max_workers=1"] for a in ("--set", o)]
    process = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, prefect_api),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    manifest = tmp_path / "data" / "manifest.parquet"
    deadline = time.monotonic() + 300
    # The first finished batch appears as a manifest part; manifest.parquet only once the parts are compacted.
    while not manifest_parts(manifest) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the build finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not manifest.exists()  # killed between batches: only the parts hold the finished clips
    done_before = len(load_manifest(manifest))
    assert 0 < done_before < len(pd.read_csv(index))
    assert not (tmp_path / "data" / "shards").exists() or not list((tmp_path / "data" / "shards").rglob("*.tar"))

    result = build(tmp_path, index, prefect_api)
    assert f"{done_before} clips up to date" in result.stdout + result.stderr
    assert shard_digests(tmp_path / "data") == split_digests(world_data, "test")


def test_shards_hold_exact_world_boxes(world_data):
    """Stored boxes are the world's boxes at the stored frames, scaled to the stored size."""
    index = pd.read_csv(world_data / "world" / "index.csv")
    row = index[index["scene"] == "solo"].iloc[0]
    truth = json.loads((world_data / "world" / row["annotation"]).read_text())
    shard_dir = world_data / "shards" / "clips"
    for shard in sorted(shard_dir.glob("*.tar")):
        with tarfile.open(shard) as tar:
            names = tar.getnames()
            if f"{row['clip_id']}.json" in names:
                handle = tar.extractfile(f"{row['clip_id']}.json")
                assert handle is not None
                meta = json.loads(handle.read())
                break
    else:
        pytest.fail(f"{row['clip_id']} not in any shard")
    scale = meta["size"][0] / truth["size"][0] if isinstance(truth["size"], list) else meta["size"][0] / truth["size"]
    video_frame = round(2 / meta["fps"] * truth["fps"])  # stored frame 2 shows t = 0.5 s
    expected = [round(v * scale, 2) for v in truth["objects"][0]["boxes"][video_frame]]
    assert meta["objects"][0]["boxes"][2] == pytest.approx(expected, abs=0.011)
