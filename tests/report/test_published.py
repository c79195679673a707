"""The papers' numbers in published.yaml are the papers' numbers: each one is found in the paper's text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from avsep.report.layouts import LAYOUTS
from avsep.report.papers import PublishedError, load_published, published_value, shipped

REPO = Path(__file__).resolve().parents[2]
PAPERS = Path(os.environ.get("AVSEP_PAPERS_DIR", REPO.parent / "shared" / "papers"))


def test_shipped_file_loads_with_every_paper_and_table():
    published = shipped()
    assert sorted(published.papers) == ["cavl", "dmc", "dsol", "mssl"]
    assert len(published.tables) == 15
    dsol2 = published.table("dsol-table2")
    assert [g.dataset for g in dsol2.groups] == ["MUSIC-Synthetic", "MUSIC-Duet", "AudioSet-multi"]
    # DSOL Table 2, "Ours" on MUSIC-Synthetic: CIoU@0.3 32.3, AUC 23.5, NSA 98.5 (line 432 of the text)
    assert dsol2.rows[-1].method == "Ours" and dsol2.rows[-1].values[0] == ["32.3", "23.5", "98.5"]


def test_every_layout_names_existing_published_tables():
    published = shipped()
    for layout in LAYOUTS:
        for table_id in layout.published:
            published.table(table_id)  # raises KeyError if the id is wrong


def _tokens(line: str) -> list[str]:
    return line.split()


def _in_order(needles: list[str], tokens: list[str]) -> bool:
    it = iter(tokens)
    return all(any(t == n for t in it) for n in needles)


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"papers' text not found at {PAPERS} (set AVSEP_PAPERS_DIR)")
def test_every_published_value_is_printed_in_its_paper():
    published = shipped()
    missing = []
    for table in published.tables:
        text = (PAPERS / published.papers[table.paper].text).read_text(encoding="utf-8")
        lines = [_tokens(line) for line in text.splitlines()]
        all_tokens = {t for line in lines for t in line}
        for row in table.rows:
            values = [v for vs in row.values for v in vs if v != "-"]
            if table.check == "line":
                found = any(_in_order(values, line) for line in lines)
            else:
                found = all(v in all_tokens for v in values)
            if not found:
                missing.append(f"{table.id} / {row.method}: {values}")
    assert missing == []


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"papers' text not found at {PAPERS}")
def test_the_check_catches_a_number_that_is_not_in_the_paper():
    text = (PAPERS / "dsol-discriminative-sounding-objects.txt").read_text(encoding="utf-8")
    lines = [_tokens(line) for line in text.splitlines()]
    assert any(_in_order(["32.3", "23.5", "98.5"], line) for line in lines)
    assert not any(_in_order(["32.3", "23.6", "98.5"], line) for line in lines)  # one digit off


def test_published_value_parses_the_printed_forms():
    assert published_value("11.90") == 11.9
    assert published_value("∼18.8") == 18.8
    assert published_value("-2.78") == -2.78
    assert published_value("-") is None
    with pytest.raises(ValueError, match="not a number"):
        published_value("n/a")


def test_malformed_file_names_the_file_and_the_row(tmp_path):
    bad = tmp_path / "published.yaml"
    bad.write_text(
        """
papers: {dsol: {citation: c, text: t.txt}}
tables:
  - {id: t, paper: dsol, table: T1, caption: c, unit: percent, check: line,
     groups: [{dataset: D, columns: [a, b]}], rows: [{method: M, values: [["1.0"]]}]}
""",
        encoding="utf-8",
    )
    with pytest.raises(PublishedError, match=r"published\.yaml.*row 'M'.*1 values for 2 columns"):
        load_published(bad)
    bad.write_text(
        "papers: {}\ntables:\n  - {id: t, paper: nope, table: T, caption: c, unit: dB, check: line,"
        " groups: [], rows: []}\n",
        encoding="utf-8",
    )
    with pytest.raises(PublishedError, match="unknown paper 'nope'"):
        load_published(bad)
