"""The whole report from tiny real inputs: files written, deterministic, self-contained, honest about gaps."""

from __future__ import annotations

import re

from avsep.cli import main
from avsep.report import write_report

from .conftest import write_json, write_tsv


def _srcs(html: str) -> list[str]:
    return re.findall(r'<(?:img|audio)\b[^>]*\bsrc="([^"]+)"', html)


def test_report_shows_tables_plots_dataset_benchmarks_and_environment(report_root, params):
    paths = write_report(params)
    html = paths.html.read_text(encoding="utf-8")
    md = paths.markdown.read_text(encoding="utf-8")
    # every referenced image/audio exists beside the page (self-contained folder)
    srcs = _srcs(html)
    assert srcs and all((report_root / "reports" / s).is_file() for s in srcs)
    assert {
        "charts/dataset.png",
        "charts/run-cavl-curriculum-C1.png",
        "charts/bench-decode.png",
        "figures/dsol/overlay-000.png",
        "figures/mix-000.wav",
        "assets/data-world/preview.png",
    } <= set(srcs)
    assert any(s.startswith("charts/compare-curriculum-effect") for s in srcs)
    for png in (report_root / "reports" / "charts").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # ours: dsol on the world, 3 seeds (0.6, 0.7, 0.8 -> 70.0 ± 10.0); the paper's DSOL on MUSIC-solo: 51.4
    assert "70.0 ± 10.0 (3 seeds)" in html and "world / test" in html
    assert "their data: MUSIC-solo" in html and "51.4" in html
    assert "Discriminative Sounding Objects Localization" in html  # the citation travels with the numbers
    assert "mixture (input as estimate)" in html
    # the curriculum-order runs were not trained: said plainly
    assert "curriculum order (CAVL Fig. 3b): run(s) cavl-order-C2-C3, cavl-order-C3-C2 not trained yet" in html
    for key in ("params hash", "torch", "torchaudio", "prefect", "dvc", "webdataset", "device", "git revision"):
        assert f">{key}<" in html
    assert "failed_by_step" in html and "decode: 1, download: 1" in html
    # the markdown twin carries the same tables and images
    assert "| dsol | world / test | 70.0 ± 10.0 (3 seeds) |" in md
    assert "![dataset: clips and failures](charts/dataset.png)" in md
    assert "| Ours | 51.4 | 43.6 |" in md
    # the papers' claims, each with a verdict on these metrics (separation was not evaluated here)
    assert "<h2>Paper claims on this data</h2>" in html and '<tr class="not-measured">' in html
    assert (
        "## Paper claims on this data" in md and "| separation | the frame-guided Sound of Pixels above NMF-MFCC" in md
    )


def test_same_inputs_give_the_same_bytes(report_root, params):
    first = write_report(params)
    before = {p: p.read_bytes() for p in (first.html, first.markdown, *sorted(first.images))}
    second = write_report(params)
    after = {p: p.read_bytes() for p in (second.html, second.markdown, *sorted(second.images))}
    assert before == after
    assert not list((report_root / "reports").rglob("*.partial"))  # atomic writes leave no temporaries


def test_charts_of_runs_that_are_gone_are_removed(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)  # only two DVCLive runs: nothing else to draw
    for run in ("a", "b"):
        write_tsv(tmp_path / "dvclive" / run / "plots" / "metrics" / "loss.tsv", "loss", [(0, 1.0), (1, 0.5)])
    write_report(params)
    stale = tmp_path / "reports" / "charts" / "run-b.png"
    assert stale.is_file()
    (tmp_path / "dvclive" / "b" / "plots" / "metrics" / "loss.tsv").unlink()
    write_report(params)
    assert not stale.exists() and (tmp_path / "reports" / "charts" / "run-a.png").is_file()


def test_empty_project_gives_a_report_that_says_what_is_missing(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    paths = write_report(params)
    html = paths.html.read_text(encoding="utf-8")
    assert "Not available yet" in html and "no model evaluated yet" in html and "not run yet" in html
    assert '<tr class="fails">' not in html and html.count('<tr class="not-measured">') == 8  # no metrics: no verdict
    assert _srcs(html) == []


def test_cli_writes_the_report_and_refuses_bad_metrics(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    report_root = tmp_path
    assert main(["report", "--params", "none", "--out-dir", "out"]) == 2  # a named params file must exist
    assert main(["report", "--out-dir", "out"]) == 0
    assert (report_root / "out" / "index.html").is_file() and (report_root / "out" / "README.md").is_file()
    assert "wrote out/index.html" in capsys.readouterr().out
    write_json(
        report_root / "reports" / "metrics" / "broken.json",
        {"model": "x", "split": "test", "protocols": {"dsol": {"auc": 1}}},
    )
    assert main(["report", "--out-dir", "out"]) == 2
    assert "broken.json: protocols.dsol: 'n' (sample count)" in capsys.readouterr().err
