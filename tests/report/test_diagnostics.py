"""The report's Diagnostics section: shown from reports/diagnose/*.json when present, absent otherwise."""

from __future__ import annotations

import pytest

from avsep.report import write_report
from avsep.report.collect import ReportInputError, read_diagnostics

from .conftest import write_json

DOC = {
    "model": "dsol",
    "checkpoint": "data/models/dsol/two.pt",
    "data": "data",
    "seed": 0,
    "checks": [
        {"check": "overfit", "value": 0.31, "threshold": 0.5, "passed": True, "meaning": "m", "details": {}},
        {"check": "audio-swap", "value": 0.004, "threshold": 0.05, "passed": False, "meaning": "m", "details": {}},
        {"check": "probe-visual", "value": None, "threshold": 0.2, "passed": False, "meaning": "m", "details": {}},
    ],
}


def test_diagnostics_are_a_table_and_a_chart(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    assert "Diagnostics" not in write_report(params).html.read_text(encoding="utf-8")
    write_json(tmp_path / "reports" / "diagnose" / "dsol.json", DOC)
    paths = write_report(params)
    html, md = paths.html.read_text(encoding="utf-8"), paths.markdown.read_text(encoding="utf-8")
    assert "<h2>Diagnostics</h2>" in html and ">audio-swap<" in html and ">two.pt<" in html
    assert "charts/diagnostics.png" in html
    assert (tmp_path / "reports" / "charts" / "diagnostics.png").read_bytes()[:4] == b"\x89PNG"
    assert "| dsol | overfit | 0.31 | 0.5 | True | two.pt |" in md


def test_a_broken_diagnose_document_is_named(tmp_path):
    write_json(tmp_path / "bad.json", {**DOC, "checks": [{"check": "overfit", "value": "x", "passed": True}]})
    with pytest.raises(ReportInputError, match=r"bad.json: checks\[0\].value must be a number or null"):
        read_diagnostics(tmp_path)
