import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest

from avsep.shards import SampleFormatError, ShardWriteError, ShardWriter, encode_sample, read_sizes, write_sizes
from avsep.shards.codec import decode_jpeg, decode_npy, decode_wav, encode_jpeg, encode_npy, encode_wav

from tiny_shards import clip_arrays, clip_members, write_set


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_inputs_give_byte_identical_shards(tmp_path):
    write_set(tmp_path / "a", n_clips=5, per_shard=2)
    write_set(tmp_path / "b", n_clips=5, per_shard=2)
    names = sorted(p.name for p in (tmp_path / "a").glob("*.tar"))
    assert names == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    for name in names:
        assert _sha(tmp_path / "a" / name) == _sha(tmp_path / "b" / name)
    assert (tmp_path / "a" / "sizes.json").read_bytes() == (tmp_path / "b" / "sizes.json").read_bytes()
    assert read_sizes(tmp_path / "a") == {"train-000000.tar": 2, "train-000001.tar": 2, "train-000002.tar": 1}


def test_tar_lists_members_sorted_with_fixed_metadata(tmp_path):
    write_set(tmp_path, n_clips=2, per_shard=10)
    listing = subprocess.run(
        ["tar", "-tvf", str(tmp_path / "train-000000.tar")], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    names = [line.split()[-1] for line in listing]
    first = [n for n in names if n.startswith("clip-000.")]
    assert first == [
        "clip-000.000.jpg",
        "clip-000.001.jpg",
        "clip-000.002.jpg",
        "clip-000.003.jpg",
        "clip-000.004.jpg",
        "clip-000.005.jpg",
        "clip-000.006.jpg",
        "clip-000.007.jpg",
        "clip-000.json",
        "clip-000.logmel.npy",
        "clip-000.wav",
    ]
    assert names.index("clip-000.wav") < names.index("clip-001.000.jpg")
    with tarfile.open(tmp_path / "train-000000.tar") as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname, member.mode) == (
                0,
                0,
                0,
                "",
                "",
                0o644,
            )


def test_max_bytes_starts_new_shard(tmp_path):
    with ShardWriter(tmp_path, "val", max_samples=100, max_bytes=1) as writer:
        for i in range(3):
            writer.write(f"k{i}", {"json": b"{}"})
    assert read_sizes(tmp_path) == {f"val-{i:06d}.tar": 1 for i in range(3)}


def test_failed_write_leaves_no_final_file(tmp_path):
    with pytest.raises(RuntimeError), ShardWriter(tmp_path, "train", max_samples=10) as writer:
        writer.write("a", {"json": b"{}"})
        raise RuntimeError("source failed mid-shard")
    assert list(tmp_path.iterdir()) == []


def test_killed_write_leaves_no_final_file(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from avsep.shards import ShardWriter
        w = ShardWriter({str(tmp_path)!r}, "train", max_samples=2)
        for i in range(3):
            w.write(f"k{{i}}", {{"json": b"{{}}"}})
        os.kill(os.getpid(), signal.SIGKILL)  # dies with the second shard half written, before sizes.json
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["train-000000.tar"]  # the complete first shard only; no sizes.json, no half shard
    assert all(p.name.endswith(".partial") for p in tmp_path.iterdir() if p.name.startswith("."))


def test_keys_must_increase_and_be_safe(tmp_path):
    with ShardWriter(tmp_path, "train", max_samples=10) as writer:
        writer.write("b", {"json": b"{}"})
        with pytest.raises(ShardWriteError, match="strictly increasing"):
            writer.write("a", {"json": b"{}"})
        with pytest.raises(ShardWriteError, match="strictly increasing"):
            writer.write("b", {"json": b"{}"})
        with pytest.raises(ShardWriteError, match=re.escape("no '.'")):
            writer.write("c.d", {"json": b"{}"})


def test_encode_sample_names_key_on_bad_input():
    arrays = clip_arrays(0)
    with pytest.raises(SampleFormatError, match=r"'bad-clip'.*uint8"):
        encode_sample("bad-clip", arrays["frames"].astype(np.float32), arrays["audio"], 8000, None, {}, 90)
    with pytest.raises(SampleFormatError, match=r"'bad-clip'.*mono"):
        encode_sample("bad-clip", arrays["frames"], np.zeros((2, 10), np.float32), 8000, None, {}, 90)
    with pytest.raises(SampleFormatError, match=r"'bad-clip'.*json"):
        encode_sample("bad-clip", arrays["frames"], arrays["audio"], 8000, None, {"x": float("nan")}, 90)


def test_codecs_round_trip():
    arrays = clip_arrays(1)
    audio, rate = decode_wav(encode_wav(arrays["audio"], 8000))
    assert rate == 8000 and np.max(np.abs(audio - arrays["audio"])) <= 1 / 32767
    assert np.array_equal(decode_npy(encode_npy(arrays["logmel"])), arrays["logmel"])
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (16, 1, 3))
    assert np.abs(decode_jpeg(encode_jpeg(smooth, 90)).astype(int) - smooth).max() < 8
    members = clip_members("k", 0)
    assert json.loads(members["json"]) == json.loads(json.dumps(json.loads(members["json"]), sort_keys=True))


def test_sizes_merge_keeps_other_splits(tmp_path):
    write_sizes(tmp_path, "train", {"train-000000.tar": 3, "train-000001.tar": 3})
    write_sizes(tmp_path, "val", {"val-000000.tar": 2})
    write_sizes(tmp_path, "train", {"train-000000.tar": 4})  # a rewrite with fewer shards drops the stale one
    assert read_sizes(tmp_path) == {"train-000000.tar": 4, "val-000000.tar": 2}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_splits_written_at_once_are_all_listed(tmp_path):
    """The build writes a set's splits in parallel tasks: each merges its entries into the one sizes.json.
    Six writers released together, six times over: no split may be lost (without the folder lock, rounds
    lost splits: each writer rewrote the file from what it had read before the others wrote)."""
    import threading

    splits = [f"s{i}" for i in range(6)]
    lost = []
    for round_ in range(6):
        directory = tmp_path / str(round_)
        start = threading.Barrier(len(splits))

        def write(split, start, directory):
            start.wait()
            write_sizes(directory, split, {f"{split}-000000.tar": 1})

        threads = [threading.Thread(target=write, args=(split, start, directory)) for split in splits]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        listed = {name.split("-")[0] for name in read_sizes(directory)}
        lost += sorted(set(splits) - listed)
    assert lost == []


def test_params_yaml_section_equals_the_defaults():
    from avsep.config import load_params
    from avsep.config.shards import ShardParams

    assert load_params("params.yaml").shards == ShardParams()
