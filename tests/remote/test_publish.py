"""Publishing a shard set to a URL (S3 on the tests' server, and a plain folder through fsspec), where a set
lives, and keeping credentials out of params."""

from __future__ import annotations

import json

import pytest
import s3store

from avsep.config import ParamsError, load_params
from avsep.shards import ShardSet, ShardWriter
from avsep.shards.reader import open_shard
from avsep.shards.remote import PUBLISHED_FILE, is_url, publish_set, same_folder, set_exists, set_location


def _write(directory, n: int, per_shard: int = 2, tag: bytes = b"") -> None:
    with ShardWriter(directory, "train", max_samples=per_shard) as writer:
        for i in range(n):
            writer.write(f"clip-{i:03d}", {"txt": b"sample %d" % i + tag})


def test_publish_to_s3_uploads_changed_shards_only_and_sizes_json_last(s3_server, tmp_path):
    local, url = tmp_path / "clips", f"s3://{s3_server.bucket}/publish/clips"
    _write(local, 5)
    assert publish_set(local, url) == {"uploaded": 3, "kept": 0}
    assert ShardSet.open(url, "train").sizes == (2, 2, 1) and set_exists(url)
    with open_shard(f"{url}/train-000000.tar") as stream:
        assert stream.read() == (local / "train-000000.tar").read_bytes()

    assert publish_set(local, url) == {"uploaded": 0, "kept": 3}  # nothing changed: nothing sent
    _write(local, 5, tag=b"!")  # same sizes, other bytes: every shard is sent again
    assert publish_set(local, url) == {"uploaded": 3, "kept": 0}
    body = s3store.client(s3_server.endpoint).get_object(Bucket=s3_server.bucket, Key="publish/clips/train-000002.tar")
    assert body["Body"].read() == (local / "train-000002.tar").read_bytes()
    objects = s3store.keys(s3_server.endpoint, s3_server.bucket, "publish/clips/")
    assert sorted(objects) == sorted(
        [f"publish/clips/train-00000{i}.tar" for i in range(3)]
        + ["publish/clips/sizes.json", f"publish/clips/{PUBLISHED_FILE}"]
    )


def test_publish_to_a_folder_moves_each_file_into_place(tmp_path):
    local, target = tmp_path / "built" / "clips", tmp_path / "elsewhere" / "clips"
    _write(local, 3)
    assert publish_set(local, str(target)) == {"uploaded": 2, "kept": 0}
    assert json.loads((target / "sizes.json").read_text()) == {"train-000000.tar": 2, "train-000001.tar": 1}
    assert not list(target.glob(".*partial"))  # uploaded beside the final name, then moved
    assert (target / "train-000001.tar").read_bytes() == (local / "train-000001.tar").read_bytes()


def test_publishing_nothing_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"sizes\.json: no shard set to publish"):
        publish_set(tmp_path, "s3://bucket-never-used/x")


def test_where_a_set_lives():
    assert set_location(None, "data", "clips") == "data/shards/clips"
    assert set_location("s3://bucket/avsep/shards/", "data", "C1") == "s3://bucket/avsep/shards/C1"
    assert is_url("s3://b/x") and is_url("https://host/x") and not is_url("file:///x") and not is_url("/data")
    assert same_folder("data/shards", "data/shards") and not same_folder("s3://b/shards", "data/shards")


def test_credentials_in_shards_root_are_refused():
    with pytest.raises(ParamsError, match="credentials do not belong in params"):
        load_params(None, ["shards.root=s3://KEY:SECRET@bucket/shards"])
    assert load_params(None, ["shards.root=s3://bucket/shards"]).shards.root == "s3://bucket/shards"
