"""The fault-injection table (tests/faults -> reports/reliability.json) appears in the report, or the report
says it is missing; a malformed table is refused with its path."""

from __future__ import annotations

import pytest

from avsep.report import write_report
from avsep.report.collect import ReportInputError

from .conftest import write_json

TABLE = {
    "suite": "tests/faults",
    "cases": 2,
    "passed": 1,
    "rows": [
        {
            "category": "media",
            "case": "zero-byte",
            "expected": "status decode",
            "observed": "status decode: empty",
            "pass": True,
        },
        {
            "category": "network",
            "case": "http-404",
            "expected": "status download",
            "observed": "FAILED: | pipe",
            "pass": False,
        },
    ],
}


def test_reliability_table_is_rendered(report_root, params):
    write_json(report_root / "reports" / "reliability.json", TABLE)
    paths = write_report(params)
    html = paths.html.read_text(encoding="utf-8")
    md = paths.markdown.read_text(encoding="utf-8")
    assert "<h2>Reliability (fault injection)</h2>" in html and "1 of 2 fault cases pass" in html
    assert '<td class="lead">zero-byte</td>' in html and "status decode: empty" in html
    assert "## Reliability (fault injection)" in md and "1 of 2 fault cases pass" in md
    assert "| media | zero-byte | status decode | status decode: empty | yes |" in md or "zero-byte" in md
    assert "FAILED: \\| pipe" in md  # a pipe in a cell does not break the Markdown table


def test_missing_or_malformed_reliability_table(report_root, params):
    html = write_report(params).html.read_text(encoding="utf-8")
    assert "reliability table (reports/reliability.json): fault-injection suite not run yet" in html
    write_json(report_root / "reports" / "reliability.json", {"rows": "nope"})
    with pytest.raises(ReportInputError, match=r"reliability\.json: a reliability table needs a list 'rows'"):
        write_report(params)
