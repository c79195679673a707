"""The URL source through the whole flow, against a real HTTP server on 127.0.0.1 that misbehaves."""

from __future__ import annotations

import json
import subprocess

import pandas as pd

from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.download.server import http_server, make_mp4  # noqa: F401  (fixture)


def test_failed_urls_keep_rows_with_reasons_and_the_rest_is_sharded(http_server, prefect_api, tmp_path):  # noqa: F811 (fixture)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        http_server.files[name] = make_mp4(tmp_path / name, seconds=2.0).read_bytes()
    index = tmp_path / "urls.csv"
    rows = [
        (http_server.url("/files/a.mp4"), "violin"),
        (http_server.url("/files/b.mp4"), "cello"),
        (http_server.url("/flaky/1/c.mp4"), "flute"),  # 500 once, then served: the retry works
        (http_server.url("/status/404"), "tuba"),
        (http_server.url("/status/500"), "erhu"),
        (http_server.url("/hang"), "accordion"),
    ]
    index.write_text("url,start,end,labels\n" + "".join(f"{url},0,2,{label}\n" for url, label in rows))
    sets = [
        "dataset.download.retries=1",
        "dataset.download.backoff_s=0",
        "dataset.download.timeout_s=0.5",
        "dataset.download.total_timeout_s=2",
        "build.frame_size=32",
        "build.mixing.cocktail_per_split={}",
        "build.mixing.nmix_per_split={}",
    ]
    cmd = (
        avsep_cli()
        + ["build", "--source", "urls", "--index", str(index), "--out", "data", "--params", str(REPO / "params.yaml")]
        + [a for s in sets for a in ("--set", s)]
    )
    result = subprocess.run(
        cmd, cwd=tmp_path, env=subprocess_env(tmp_path, prefect_api), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = pd.read_parquet(tmp_path / "data" / "manifest.parquet").set_index("uri")
    assert len(manifest) == len(rows)  # every clip keeps its row
    ok_urls, failing = [url for url, _ in rows[:3]], dict(zip([url for url, _ in rows[3:]], ("404", "500", "")))
    assert list(manifest.loc[ok_urls, "status"]) == ["ok"] * 3
    for url, reason in failing.items():
        assert manifest.loc[url, "status"] == "download" and reason in manifest.loc[url, "error"], url
    summary = json.loads((tmp_path / "data" / "build-summary.json").read_text())
    assert summary["ok"] == 3 and summary["failed_by_step"] == {"download": 3}
    sizes = json.loads((tmp_path / "data" / "shards" / "clips" / "sizes.json").read_text())
    assert sum(sizes.values()) == 3
