"""A shard set served over plain HTTP (Python's own server on 127.0.0.1, no range support needed): the same
samples as from the folder, and a shard missing on the server is skipped, counted and named."""

from __future__ import annotations

import functools
import http.server
import logging
import threading

import pytest

from avsep.shards import evaluation_view, make_loader

from tiny_shards import small_params, write_set


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one stderr line per request otherwise
        pass


@pytest.fixture
def served(tmp_path):
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def _keys(location: str) -> tuple[list[str], int]:
    view = evaluation_view(location, "train", small_params(), view="localization", batch_size=2, seed=0)
    return [key for batch in make_loader(view, small_params()) for key in batch["key"]], view.skipped


def test_shards_over_http_read_like_local_ones(served):
    folder, base = served
    keys = write_set(folder / "clips", 6, 2)
    assert _keys(f"{base}/clips") == _keys(str(folder / "clips")) == (keys, 0)


def test_a_shard_missing_on_the_http_server_is_skipped_counted_and_named(served, caplog):
    folder, base = served
    keys = write_set(folder / "clips", 6, 2)
    (folder / "clips" / "train-000001.tar").unlink()
    with caplog.at_level(logging.WARNING, logger="avsep.shards"):
        assert _keys(f"{base}/clips") == (keys[:2] + keys[4:], 1)
    assert [f"{base}/clips/train-000001.tar" in r.getMessage() for r in caplog.records] == [True]
