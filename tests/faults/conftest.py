"""The fault-injection suite's reliability table, and fixtures shared by its cases.

Every case takes the ``reliability`` fixture and fills ``expected`` and ``observed``; the outcome (pass or
fail, with the error when it failed) is added by the hook below. At the end of a session that ran fault
cases, the table is written atomically to ``reports/reliability.json`` (``AVSEP_RELIABILITY_JSON`` overrides
the path), where ``avsep report`` shows it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from avsep.io import atomic_write_text
from tests.conftest import REPO
from tests.download.server import serving

_ROWS: dict[str, dict] = {}


@pytest.fixture
def reliability(request) -> dict:
    """The table row of this case: set ``row["expected"]`` and ``row["observed"]`` in the test."""
    module = request.node.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    case = request.node.callspec.id if hasattr(request.node, "callspec") else request.node.name
    row = {"category": module, "case": case, "expected": "", "observed": "", "pass": None}
    _ROWS[request.node.nodeid] = row
    return row


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    row = _ROWS.get(item.nodeid)
    if row is None or (report.when != "call" and not report.failed):
        return
    if report.failed:
        row["pass"] = False
        message = str(call.excinfo.value) if call.excinfo else report.longreprtext
        row["observed"] = (row["observed"] + " | " if row["observed"] else "") + f"FAILED: {message[:300]}"
    elif report.when == "call":
        row["pass"] = not report.skipped


def pytest_sessionfinish(session):
    if not _ROWS:
        return
    out = Path(os.environ.get("AVSEP_RELIABILITY_JSON", REPO / "reports" / "reliability.json"))
    # A partial run (one file, -k) updates its own rows and keeps the others of the last full run. Parallel workers
    # (pytest -n) each finish a session with their own rows: the lock makes their read-merge-writes take turns.
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f".{out.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge_rows(out)


def _merge_rows(out: Path) -> None:
    merged = {}
    if out.is_file():
        try:
            merged = {(r["category"], r["case"]): r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
        except (ValueError, KeyError, TypeError):
            merged = {}
    merged.update({(r["category"], r["case"]): r for r in _ROWS.values()})
    rows = [merged[key] for key in sorted(merged)]
    table = {"suite": "tests/faults", "cases": len(rows), "passed": sum(r["pass"] is True for r in rows), "rows": rows}
    atomic_write_text(out, json.dumps(table, indent=1) + "\n")


@pytest.fixture(scope="module")
def http_module_server():
    """tests/download/server.py's misbehaving HTTP server on 127.0.0.1, shared by a module's cases."""
    with serving() as server:
        yield server
