"""Reading the report's inputs: the metrics schema, DVCLive TSVs, and what is reported missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from avsep.report.collect import ReportInputError, collect, parse_metrics, read_curve, read_runs

from .conftest import write_json, write_tsv


def test_valid_metrics_document_keeps_protocols_variant_and_seed():
    doc = parse_metrics(
        {
            "model": "dsol",
            "split": "test",
            "variant": "lambda=0.8",
            "seed": 2,
            "protocols": {"dsol@solo": {"ciou@0.5": 0.5, "n": 3}},
        },
        Path("m.json"),
    )
    assert (doc.model, doc.split, doc.dataset, doc.variant, doc.seed) == ("dsol", "test", "world", "lambda=0.8", 2)
    assert doc.protocols["dsol@solo"]["ciou@0.5"] == 0.5


@pytest.mark.parametrize(
    "doc, message",
    [
        ([], "top level must be an object"),
        ({"split": "test", "protocols": {"a": {"n": 1}}}, "'model' must be a non-empty string"),
        ({"model": "m", "split": "test", "protocols": {}}, "'protocols' must be a non-empty object"),
        (
            {"model": "m", "split": "test", "protocols": {"dsol": {"auc": 0.5}}},
            r"protocols\.dsol: 'n' \(sample count\)",
        ),
        (
            {"model": "m", "split": "test", "protocols": {"dsol": {"auc": float("nan"), "n": 2}}},
            "dsol.auc = nan: not finite",
        ),
        ({"model": "m", "split": "test", "seed": "0", "protocols": {"dsol": {"n": 2}}}, "'seed' must be an integer"),
    ],
)
def test_bad_metrics_name_the_file_and_the_reason(doc, message):
    with pytest.raises(ReportInputError, match=rf"bad\.json: .*{message}"):
        parse_metrics(doc, Path("bad.json"))


def test_dvclive_tsv_becomes_a_curve_named_by_its_path(tmp_path):
    base = tmp_path / "dvclive" / "run-a" / "plots" / "metrics"
    write_tsv(base / "C2" / "train" / "loss.tsv", "loss", [(0, 1.5), (10, 0.5)])
    (base / "lr.tsv").write_text("timestamp\tstep\tlr\n1700000000\t0\t0.001\n", encoding="utf-8")
    (tmp_path / "dvclive" / "empty").mkdir()  # a folder without TSVs is not a run
    runs = read_runs(tmp_path / "dvclive")
    assert [r.name for r in runs] == ["run-a"]
    curves = {c.name: c for c in runs[0].curves}
    assert sorted(curves) == ["C2/train/loss", "lr"]
    assert curves["C2/train/loss"].steps == (0, 10) and curves["C2/train/loss"].values == (1.5, 0.5)
    assert curves["lr"].values == (0.001,)


def test_bad_tsv_names_the_file(tmp_path):
    path = tmp_path / "loss.tsv"
    path.write_text("step\tloss\n0\tabc\n", encoding="utf-8")
    with pytest.raises(ReportInputError, match=r"loss\.tsv: non-numeric"):
        read_curve(path, "loss")
    path.write_text("when\tloss\n0\t1\n", encoding="utf-8")
    with pytest.raises(ReportInputError, match="expected columns 'step' and one metric"):
        read_curve(path, "loss")


def test_nothing_there_lists_every_missing_input(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    found = collect(params.report)
    assert found.metrics == [] and found.runs == [] and found.build_summary is None
    text = "\n".join(found.missing)
    for what in ("metrics", "benchmarks", "dataset summary", "training curves", "overlays", "world preview"):
        assert what in text


def test_broken_benchmark_and_summary_are_errors(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "reports" / "benchmarks" / "x.json", {"benchmark": "x", "rows": []})
    with pytest.raises(ReportInputError, match=r"x\.json: a benchmark result needs an object 'summary'"):
        collect(params.report)
    (tmp_path / "reports" / "benchmarks" / "x.json").unlink()
    write_json(tmp_path / "data" / "build-summary.json", {"clips": "12", "ok": 1, "failed": 0})
    with pytest.raises(ReportInputError, match=r"build-summary\.json: 'clips' must be an integer"):
        collect(params.report)
