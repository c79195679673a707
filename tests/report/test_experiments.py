"""The CAVL experiments (reports/experiments/*.json) in the report: tables in the papers' layouts, mean ± spread
with its kind and seeds, a bar chart with error bars, and clear errors for malformed files."""

from __future__ import annotations

import json
import re

import pytest

from avsep.cli import main
from avsep.report import write_report
from avsep.report.collect import ReportInputError, collect

from .conftest import write_json

LOC = "20.0 ± 10.0 (sd, 3 seeds) | 30.0 ± 10.0 (sd, 3 seeds) | 27"


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def test_experiments_fill_the_probe_table_and_add_their_own(report_root, params):
    paths = write_report(params)
    html = paths.html.read_text(encoding="utf-8")
    md = paths.markdown.read_text(encoding="utf-8")
    # probe: the existing avsep linear-probe table (CAVL Table 1 rows), no longer "not run yet"
    probe_md = _section(md, "**avsep — Linear-probe accuracy", "**Published: CAVL Table 1")
    assert "| C1 | world / held-out split | 70.0 ± 10.0 (sd, 3 seeds) | 27 |" in probe_md
    assert "| C2(C1) + scene-level alignment | world / held-out split | 50.0 ± 0.0 (sd, 3 seeds) | 27 |" in probe_md
    assert "| C2(C1) + sound-source-level alignment | world / held-out split | 45.0 ± 5.0 (sd, 3 seeds) |" in probe_md
    assert "| C1(C2) + sound-source-level alignment | world / held-out split | 40.0 ± 10.0 (sd, 3 seeds) |" in probe_md
    assert "not run yet" not in probe_md and "measured by avsep on the built-in world (demo profile)" in probe_md
    probe_html = _section(html, "avsep — Linear-probe accuracy", "Published: CAVL Table 1")
    assert '<td class="lead">C1(C2) + sound-source-level alignment</td>' in probe_html
    assert "<td>70.0 ± 10.0 (sd, 3 seeds)</td>" in probe_html and "not run yet" not in probe_html
    # localization: CAVL Table 2 rows, the three single-source protocols, the deterministic baseline first
    for row in ("C1", "C1 (unrelated)", "C2(C1)"):
        assert f"| {row} | world / test (C1 clips) | {LOC} | {LOC} | {LOC} |" in md
        assert f'<td class="lead">{row}</td><td class="lead">world / test (C1 clips)</td>' in html
    assert (
        "| centre_prior (baseline) | world / test (C1 clips) | 35.0 | 38.0 | 27 | 30.0 | 33.0 | 27 | 40.0 | 41.0 | 27 |"
        in md
    )
    # curriculum effect and order: final loss / final accuracy / mean accuracy per run
    runs = "0.130 ± 0.010 (sd, 3 seeds) | 60.0 ± 10.0 (sd, 3 seeds) | 50.0 ± 0.0 (sd, 3 seeds) |"
    for run in ("C1", "C3", "C2 → C3", "C3 → C2"):
        assert f"| {run} | world / training batches | {runs}" in md
        assert f'<td class="lead">{run}</td><td class="lead">world / training batches</td>' in html
    assert html.count("measured by avsep on the built-in world (demo profile)") == 4
    assert "CAVL Fig. 3b layout" in html and "reproduced here: yes" in html
    # the papers' tables stay beside, unchanged, in their own tables
    assert "| C2(C1) + Sound-source-level alignment | 56.75 |" in md
    # one chart with error bars, in both pages, after the curriculum section's tables
    assert "![CAVL experiments on the built-in world: mean ± spread over seeds](charts/experiments.png)" in md
    assert 'src="charts/experiments.png"' in _section(
        html, "Curriculum learning and audio features", "Counting sound sources"
    )
    assert (report_root / "reports" / "charts" / "experiments.png").read_bytes()[:4] == b"\x89PNG"
    assert not [m for m in collect(params.report, params.cavl.experiments.out_dir).missing if "CAVL" in m]


def test_missing_experiments_are_said_plainly(report_root, params):
    (report_root / "reports" / "experiments" / "curriculum-order.json").unlink()
    md = write_report(params).markdown.read_text(encoding="utf-8")
    assert "CAVL experiment curriculum-order: not run yet" in md
    order = _section(md, "**avsep — Curriculum order", "![CAVL experiments")
    assert "| C2 → C3 | not run yet |" in order and "±" not in order
    for path in (report_root / "reports" / "experiments").glob("*.json"):
        path.unlink()
    (report_root / "reports" / "experiments").rmdir()
    found = collect(params.report, params.cavl.experiments.out_dir)
    assert found.experiments == {}
    assert any(m.startswith("CAVL experiments (reports/experiments/*.json): not run yet") for m in found.missing)
    md = write_report(params).markdown.read_text(encoding="utf-8")
    assert "experiments.png" not in md and not (report_root / "reports" / "charts" / "experiments.png").exists()
    probe = _section(md, "**avsep — Linear-probe accuracy", "**Published: CAVL Table 1")
    assert "not run yet" in probe


def test_malformed_experiment_files_name_the_file_and_the_reason(report_root, params):
    out = report_root / "reports" / "experiments"
    probe = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    (out / "probe.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportInputError, match=r"probe\.json: not readable JSON"):
        collect(params.report, params.cavl.experiments.out_dir)
    del probe["rows"]["C1"]["spread"]
    write_json(out / "probe.json", probe)
    with pytest.raises(ReportInputError, match=r"probe\.json: rows\.C1: a stat over seeds needs spread"):
        collect(params.report, params.cavl.experiments.out_dir)
    probe["rows"]["C1"] = {"mean": float("nan"), "spread": 0.1, "spread_kind": "sd", "per_seed": [0.1]}
    write_json(out / "probe.json", probe)
    with pytest.raises(ReportInputError, match=r"probe\.json: rows\.C1\.mean = nan: not a finite number"):
        collect(params.report, params.cavl.experiments.out_dir)
    probe["rows"] = [1, 2]  # well-formed stats, but not the object of rows the table needs
    write_json(out / "probe.json", probe)
    with pytest.raises(ReportInputError, match=r"probe\.json: 'rows' must be an object of row name -> results"):
        write_report(params)


def test_cli_refuses_a_malformed_experiment(report_root, capsys):
    write_json(
        report_root / "reports" / "experiments" / "localization.json",
        {"experiment": "localization", "seeds": ["zero"], "rows": {}},
    )
    assert main(["report", "--out-dir", "out"]) == 2
    assert re.search(r"localization\.json: 'seeds' must be a list of integers", capsys.readouterr().err)
