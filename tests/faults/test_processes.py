"""Killed and starved processes: SIGKILL of the build flow during download, decode and shard writing, of
training during a checkpoint write, and a full disk (RLIMIT_FSIZE). Each leaves nothing half-written under a
final name, keeps its manifest rows, and a re-run resumes to the same shards (or weights) as an undisturbed
run. The kill points are exact (tests/faults/killpoint.py), not timed."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from avsep.train import load_checkpoint, train
from tests.conftest import REPO
from tests.faults.harness import (
    avsep_program,
    build_command,
    half_written,
    manifest,
    run_flow,
    run_killed,
    shard_digests,
    tiny_mp4,
    world_row,
    write_world_index,
)

N_CLIPS = 5  # three shards of at most two samples


@pytest.fixture(scope="module")
def world_inputs(tmp_path_factory, prefect_api):
    """A world index of five 1-s clips and the shards of an undisturbed build of it."""
    top = tmp_path_factory.mktemp("process-faults")
    folder = top / "media"
    rows = [world_row(f"clip-{i}", tiny_mp4(folder / f"clip-{i}.mp4").name, split="train") for i in range(N_CLIPS)]
    index = write_world_index(folder / "index.csv", rows)
    (top / "reference").mkdir()
    run_flow(top / "reference", index, prefect_api)
    return {"index": index, "reference": shard_digests(top / "reference" / "data")}


@pytest.fixture(scope="module")
def url_inputs(tmp_path_factory, prefect_api, http_module_server):
    top = tmp_path_factory.mktemp("download-kill")
    urls = []
    for i in range(3):
        http_module_server.files[f"u{i}.mp4"] = tiny_mp4(top / f"u{i}.mp4").read_bytes()
        urls.append(http_module_server.url(f"/files/u{i}.mp4"))
    index = top / "urls.csv"
    index.write_text("url,start,end,labels\n" + "".join(f"{u},0,1,cello\n" for u in urls))
    (top / "reference").mkdir()
    run_flow(top / "reference", index, prefect_api, source="urls")
    return {"index": index, "reference": shard_digests(top / "reference" / "data"), "server": http_module_server}


# case -> (inputs fixture, killpoint options, what is cut). An atomic write opens its temporary file three
# times: mkstemp, the write, the fsync; a download opens its partial file once (written and fsynced on one handle).
KILLS = {
    "sigkill-during-download": (
        "url_inputs",
        ["--open", r"/data/raw/\.[^/]*\.partial$", "--nth", "2"],
        "the second download, its temporary file open for writing",
    ),
    "sigkill-during-decode": ("world_inputs", ["--spawn", r"ffmpeg", "--nth", "6"], "the 6th ffmpeg run"),
    "sigkill-during-manifest-part-write": (
        "world_inputs",
        ["--open", r"/data/manifest\.parts/\.part-[^/]*\.partial$", "--nth", "3"],
        "the second manifest part, its temporary file just created (a part write opens it twice)",
    ),
    "sigkill-during-shard-writing": (
        "world_inputs",
        ["--open", r"(^|/)data/clips/[^./][^/]*\.tar$", "--nth", "3"],
        "shard writing, at the third sample read",
    ),
}


@pytest.mark.parametrize("case", list(KILLS))
def test_sigkill_of_the_build_then_rerun(case, request, prefect_api, tmp_path, reliability):
    fixture, fault, where = KILLS[case]
    inputs = request.getfixturevalue(fixture)
    source = "urls" if fixture == "url_inputs" else "world"
    reliability["expected"] = f"killed at {where}; no half-written file; re-run gives the undisturbed shards"
    killed = run_killed(tmp_path, prefect_api, avsep_program(build_command(inputs["index"], source)), *fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    data = tmp_path / "data"
    assert half_written(data) == []
    rows = manifest(data)  # the compacted file, or only the parts of the batches finished before the kill
    done = int((rows["status"] == "ok").sum())
    if case == "sigkill-during-download":  # the first download was complete: kept, and not fetched again
        assert (data / "raw").is_dir() and len(list((data / "raw").glob("url-u0-*.mp4"))) == 1
    else:  # finished clips were recorded before the kill
        assert done >= 1
    if case in ("sigkill-during-decode", "sigkill-during-manifest-part-write"):
        # Killed between batches of a first build: the finished clips live only in the appended parts.
        assert not (data / "manifest.parquet").exists() and list((data / "manifest.parts").glob("part-*.parquet"))
    if case == "sigkill-during-manifest-part-write":
        assert done == 1 and [p.name for p in (data / "manifest.parts").glob("part-*")] == ["part-000000.parquet"]
    summary = run_flow(tmp_path, inputs["index"], prefect_api, source=source)
    after = manifest(data)
    if case == "sigkill-during-download":
        assert inputs["server"].hits["/files/u0.mp4"] == 2  # the reference build's and the killed run's only
        done = 1
    assert set(rows.index) <= set(after.index)  # rows kept
    assert not list(data.glob("manifest.parts/part-*"))  # compacted into manifest.parquet
    assert summary["failed"] == 0 and shard_digests(data) == inputs["reference"]
    assert half_written(data) == []
    reliability["observed"] = (
        f"SIGKILL ({done} clip(s) or download(s) finished before it, not redone); "
        f"re-run: {summary['ok']} ok, "
        f"shards identical to the undisturbed build"
    )


def test_full_disk_then_rerun(world_inputs, prefect_api, tmp_path, reliability):
    reliability["expected"] = "each clip's sample write fails with EFBIG, recorded per clip; re-run completes"
    limit = 20000  # bytes: the manifest fits, a clip's sample (32 KB of audio alone) does not
    starved = run_killed(
        tmp_path, prefect_api, avsep_program(build_command(world_inputs["index"])), "--fsize", str(limit)
    )
    data = tmp_path / "data"
    # The flow completes with every failure recorded; `avsep build` exits 1 because no clip was built.
    assert starved.returncode == 1 and "0 ok, 5 failed {'sample': 5}" in starved.stderr, starved.stderr[-3000:]
    rows = manifest(data)
    assert len(rows) == N_CLIPS and set(rows["status"]) == {"sample"}
    for clip_id, error in rows["error"].items():
        assert error.startswith(f"{clip_id}: ") and "File too large" in error
    assert half_written(data) == [] and not list((data / "clips").glob("*.tar"))
    summary = run_flow(tmp_path, world_inputs["index"], prefect_api)
    assert summary["ok"] == N_CLIPS and shard_digests(data) == world_inputs["reference"]
    reliability["observed"] = (
        f"{len(rows)} rows 'sample': {rows['error'].iloc[0]}; re-run: {summary['ok']} ok, same shards"
    )


def _tiny_training():
    spec = importlib.util.spec_from_file_location("faults_tiny", REPO / "tests" / "train" / "tiny.py")
    assert spec is not None and spec.loader is not None  # a .py path always has a source loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sigkill_during_checkpoint_write_then_resume(tmp_path, prefect_api, reliability):
    reliability["expected"] = "killed mid checkpoint write; previous checkpoint intact; resume gives the same weights"
    tiny = _tiny_training()
    params = tiny.tiny_params()
    reference = train(tiny.tiny_recipe(params.seed), params, tmp_path / "ref-ck", tmp_path / "ref-live").model
    ck, live = tmp_path / "ck", tmp_path / "live"
    # torch.save writes from C++ (no audit event): Python opens a temporary checkpoint at mkstemp and at the
    # fsync. The 4th open is the second stage-two checkpoint's fsync: bytes written, not yet renamed.
    killed = run_killed(
        tmp_path,
        prefect_api,
        [str(REPO / "tests" / "train" / "tiny.py"), str(ck), str(live)],
        "--open",
        r"/ck/\.two\.pt\.[^/]*\.partial$",
        "--nth",
        "4",
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(list(ck.glob(".two.pt.*.partial"))) == 1  # the write that was cut, never under the final name
    before = load_checkpoint(ck / "two.pt")
    resumed = train(tiny.tiny_recipe(params.seed), params, ck, live, resume=True).model
    for (name, a), (_, b) in zip(reference.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    reliability["observed"] = (
        f"SIGKILL during the 2nd stage-two checkpoint; kept step {before['global_step']}; "
        "resumed weights equal the undisturbed run's"
    )


ORPHAN_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from tiny_shards import small_params, write_set
from avsep.shards import localization_view, make_loader
write_set(sys.argv[1], n_clips=8, per_shard=2)
params = small_params(start_method="forkserver")
view = localization_view(sys.argv[1], "train", params, batch_size=2, seed=0, mode="train")
loader = make_loader(view, params, workers=2)
next(iter(loader))  # the persistent pool is up
print(json.dumps([w.pid for w in loader._iterator._workers]), flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for its parent (it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_sigkill_of_a_trainer_leaves_no_loader_workers(tmp_path, reliability):
    reliability["expected"] = (
        "a process holding persistent forkserver loader workers is SIGKILLed; its workers and their fork server exit"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_CHILD, str(tmp_path), str(REPO / "tests" / "shards")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None  # both piped
    try:
        workers = json.loads(child.stdout.readline() or "null")
        assert workers, child.stderr.read()[-2000:] if child.poll() is not None else "no worker pids"
        server = {int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) for pid in workers}
        assert len(server) == 1 and server != {child.pid}  # forkserver workers: the server is their parent
        survivors = workers + list(server)
        assert not any(_gone(pid) for pid in survivors)
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 60.0  # a bound on "never", not a speed target: pidfd wakes them at once
    while time.monotonic() < deadline and not all(_gone(pid) for pid in survivors):
        time.sleep(0.2)
    left = [pid for pid in survivors if not _gone(pid)]
    for pid in left:  # do not leak them into the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running 60 s after the trainer's SIGKILL: {left}"
    reliability["observed"] = f"SIGKILL of the trainer; its {len(workers)} workers and the fork server exited"
