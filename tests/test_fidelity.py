"""docs/fidelity.md against the parameters: every value in backticks is what a run resolves.

Each method's table has the columns setting | paper | released code | avsep demo | avsep paper profile | key |
why. For a row with a parameter key, the demo and paper-profile cells must equal what ``params.yaml`` resolves to
under ``profile=demo`` and ``profile=paper``; and where the paper's own cell holds a value in backticks, the paper
profile must equal it unless the row says why it differs. A row with a value of the paper's and no key fails: a
number of the paper's is either checked here or named as fixed in code.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from avsep.config import load_params
from avsep.config.resolve import resolved_tree

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "fidelity.md"
COLUMNS = ["setting", "paper", "released code", "avsep demo", "avsep paper profile", "key", "why"]
NONE = {"", "—", "-"}


def _tables(text: str) -> list[tuple[str, list[dict[str, str]]]]:
    """``(heading, rows)`` of every table whose header is :data:`COLUMNS`."""
    found: list[tuple[str, list[dict[str, str]]]] = []
    heading: str = ""
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            heading = line.lstrip("# ").strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            if header == COLUMNS:
                found.append((heading, rows))
            header, rows = None, []
        elif header is None:
            header = [c.lower() for c in cells]
        elif not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(header, cells, strict=True)))
    return found


def _first_code(cell: str) -> str | None:
    match = re.search(r"`([^`]*)`", cell)
    return match.group(1) if match else None


def _lookup(tree: dict, key: str, profile: str):
    node = tree
    for part in key.split("."):
        part = profile if part == "*" else part
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{key}: no {part!r} in the parameters resolved for profile {profile}")
        node = node[part]
    return node


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


TABLES = _tables(DOC.read_text(encoding="utf-8"))
ROWS = [(heading, row) for heading, rows in TABLES for row in rows]
RESOLVED = {p: resolved_tree(load_params(REPO / "params.yaml", [f"profile={p}"])) for p in ("demo", "paper")}


def test_every_method_has_a_table():
    headings = " ".join(h for h, _ in TABLES).lower()
    for method in ("dmc", "cavl", "mssl", "dsol", "sound of pixels", "evaluation"):
        assert method in headings, f"docs/fidelity.md has no table for {method}"


@pytest.mark.parametrize("heading, row", ROWS, ids=[f"{h[:12]}: {r['setting'][:40]}" for h, r in ROWS])
def test_row_matches_the_resolved_parameters(heading, row):
    key = _first_code(row["key"])
    paper = _first_code(row["paper"])
    if key is None:
        assert paper is None, f"{heading} / {row['setting']}: the paper's value `{paper}` has no parameter key"
        return
    for profile, column in (("demo", "avsep demo"), ("paper", "avsep paper profile")):
        written = _first_code(row[column])
        assert written is not None, f"{heading} / {row['setting']}: no value in backticks under {column!r}"
        actual = _lookup(RESOLVED[profile], key, profile)
        assert _same(actual, yaml.safe_load(written)), (
            f"{heading} / {row['setting']}: docs say {key} = {written} under profile {profile}, "
            f"params resolve {actual!r}"
        )
    if paper is not None and row["why"] in NONE:
        ours = _lookup(RESOLVED["paper"], key, "paper")
        assert _same(ours, yaml.safe_load(paper)), (
            f"{heading} / {row['setting']}: the paper's {paper} differs from the paper profile's {ours!r} and the "
            "row does not say why"
        )


def test_the_checker_catches_a_wrong_row():
    # The same rules on a hand-made table: a paper-profile cell that disagrees with params.yaml must fail.
    text = "\n".join(
        [
            "## DMC",
            "| " + " | ".join(COLUMNS) + " |",
            "| " + " | ".join(["---"] * len(COLUMNS)) + " |",
            "| learning rate | `1e-4` | — | `1e-3` | `0.5` | `dmc.lr` | — |",
            "",
        ]
    )
    ((heading, rows),) = _tables(text)
    with pytest.raises(AssertionError, match="params resolve"):
        test_row_matches_the_resolved_parameters(heading, rows[0])
