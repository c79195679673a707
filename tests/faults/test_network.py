"""Network faults from a real HTTP server on 127.0.0.1, through the real build flow (URL-list source).

Each clip's failure is recorded in its manifest row with the URL and the reason; a transient one is retried
within the run (500 then success builds); nothing half-written is left under a final name; the re-run keeps
every row, asks nothing again of permanent failures (ledger) or finished clips, and completes."""

from __future__ import annotations

import json

import pytest

from tests.faults.harness import half_written, manifest, partials, run_flow, tiny_mp4

FILE = "clip.mp4"
MAX_BYTES = 20000  # dataset.download.max_bytes for this build: the "large" file is above it, clip.mp4 below
# case -> (path on the server, expected status, words the error must contain)
CASES = {
    "http-404": ("/status/404", "download", ["HTTP 404"]),
    "http-410": ("/status/410", "download", ["HTTP 410"]),
    "http-500-then-success": (f"/flaky/1/{FILE}", "ok", []),
    "connection-reset": (f"/reset/{FILE}", "download", ["ConnectionResetError"]),
    "never-answers": ("/hang", "download", ["timed out"]),
    "slow-server": (f"/slow/{FILE}", "download", ["slower than total_timeout_s"]),
    "redirect-loop": ("/loop/a", "download", ["redirect loop"]),
    "larger-than-max-bytes": ("/files/large.mp4", "download", ["exceeds max_bytes 20000"]),
}
SETTINGS = [
    "dataset.download.retries=1",
    "dataset.download.backoff_s=0",
    "dataset.download.timeout_s=2.0",
    "dataset.download.total_timeout_s=1.0",
    f"dataset.download.max_bytes={MAX_BYTES}",
]


@pytest.fixture(scope="module")
def network_build(tmp_path_factory, prefect_api, http_module_server):
    server = http_module_server
    root = tmp_path_factory.mktemp("network-faults")
    server.files[FILE] = tiny_mp4(root / FILE, seconds=0.5).read_bytes()
    server.files["large.mp4"] = tiny_mp4(root / "large.mp4", seconds=2.0).read_bytes()
    assert len(server.files[FILE]) < MAX_BYTES < len(server.files["large.mp4"])
    server.delay_s = 0.3  # /slow: 5 chunks 0.3 s apart (each read within timeout_s), 1.5 s in all: past total_timeout_s
    urls = {case: server.url(path) for case, (path, _, _) in CASES.items()}
    index = root / "urls.csv"
    index.write_text("url,start,end,labels\n" + "".join(f"{url},0,0.5,cello\n" for url in urls.values()))
    first = run_flow(root, index, prefect_api, source="urls", extra=SETTINGS)
    before = manifest(root / "data").reset_index().set_index("uri")
    hits_before = dict(server.hits)
    second = run_flow(root, index, prefect_api, source="urls", extra=SETTINGS)
    return {
        "data": root / "data",
        "urls": urls,
        "first": first,
        "second": second,
        "before": before,
        "after": manifest(root / "data").reset_index().set_index("uri"),
        "hits_before": hits_before,
        "hits_after": dict(server.hits),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_network_fault(case, network_build, reliability):
    path, status, words = CASES[case]
    url = network_build["urls"][case]
    reliability["expected"] = f"status {status}" + (f", error names the URL and {', '.join(words)}" if words else "")
    row = network_build["before"].loc[url]
    reliability["observed"] = f"status {row['status']}" + (f": {row['error']}" if row["error"] else "")
    assert row["status"] == status, row["error"]
    for word in words + ([url] if words else []):
        assert word in row["error"]
    data = network_build["data"]
    assert half_written(data) == [] and partials(data) == []
    raw = sorted(p.name for p in (data / "raw").iterdir() if not p.name.startswith((".", "failures.json")))
    assert raw == sorted(
        f"{r}.mp4" for r in network_build["before"].loc[network_build["before"]["status"] == "ok", "clip_id"]
    )
    after = network_build["after"]
    assert sorted(after.index) == sorted(network_build["before"].index)
    assert after.loc[url, "status"] == status
    ledger = json.loads((data / "raw" / "failures.json").read_text())
    hits_before, hits_after = network_build["hits_before"], network_build["hits_after"]
    if status == "ok":
        assert hits_before[path] == 2 and hits_after[path] == 2  # one retry in run one; nothing in the re-run
    elif any(w in words[0] for w in ("HTTP", "redirect", "max_bytes")):
        assert url in json.dumps(ledger) and hits_after[path] == hits_before[path]  # permanent: not asked again
        assert "failed permanently in an earlier run" in after.loc[url, "error"]
    else:
        assert url not in json.dumps(ledger) and hits_after[path] > hits_before[path]  # transient: tried again
    assert network_build["second"]["clips"] == len(CASES)
