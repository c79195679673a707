"""The markdown twin of the HTML page (``reports/README.md``): the same tables and links to the same images."""

from __future__ import annotations

from typing import Any

from avsep.report.document import Image, ReportDoc
from avsep.report.html import CLAIMS_NOTE, DIAGNOSTICS_NOTE, format_value, reliability_summary, rows_table
from avsep.report.tables import TableView


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _grid(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def table_markdown(view: TableView) -> str:
    """Markdown has no column spans: each header is ``group: column``."""
    header = list(view.lead)
    for group, n in view.groups:
        start = len(header) - len(view.lead)
        header += [f"{group}: {c}" for c in view.columns[start : start + n]]
    rows = view.rows or [["not run yet"] + [""] * (len(header) - 1)]
    note = f"\n_{view.note}_\n" if view.note else ""
    return f"**{view.title}** — {view.caption}\n\n{_grid(header, rows)}{note}"


def _image(img: Image) -> str:
    return f"![{img.caption}]({img.src})\n"


def page_markdown(doc: ReportDoc) -> str:
    out = [
        "# avsep report\n",
        "avsep's numbers are measured on avsep's datasets (each row names its dataset and split); the papers' "
        "published numbers are in separate tables headed by the papers' datasets.\n",
    ]
    if doc.missing:
        out.append("## Not available yet\n\n" + "".join(f"- {m}\n" for m in doc.missing))
    out.append("## Environment\n\n" + _grid(["", ""], [[k, v] for k, v in doc.environment.items()]))
    out.append("## Dataset\n")
    if doc.dataset is None:
        out.append("dataset summary: not built yet\n")
    else:
        out.append(_grid(["", ""], [[k, format_value(v)] for k, v in doc.dataset.items() if k != "shard_sets"]))
        if doc.dataset.get("shard_sets"):
            out.append("\n" + _grid(*rows_table(doc.dataset["shard_sets"])))
    out += [_image(img) for img in (doc.dataset_chart, doc.world_preview) if img]
    if doc.claims:
        out.append("## Paper claims on this data\n\n" + CLAIMS_NOTE + "\n\n" + _grid(*rows_table(doc.claims)))
    section = None
    for task in doc.tasks:
        if task.layout.task != section:
            section = task.layout.task
            out.append(f"## {section}\n")
        out.append(table_markdown(task.ours))
        out += [table_markdown(p) for p in task.published]
        out += [_image(img) for img in task.figures]
    out.append("## Training curves\n")
    out += [_image(img) for img in doc.comparisons + doc.training] or ["no training run yet\n"]
    out += [f"{n}\n" for n in doc.comparison_notes]
    out.append("## Localization overlays and separation spectrograms\n")
    out += [_image(img) for img in doc.overlays] or ["not written yet\n"]
    out += [f"- [{a.caption}]({a.src})\n" for a in doc.audio]
    if doc.diagnostics:  # optional: shown only when avsep diagnose was run
        out.append("## Diagnostics\n\n" + DIAGNOSTICS_NOTE + "\n\n" + _grid(*rows_table(doc.diagnostics)))
        if doc.diagnostics_chart:
            out.append(_image(doc.diagnostics_chart))
    out.append("## Benchmarks\n")
    for bench in doc.benchmarks:
        out.append(
            f"### {bench.name}\n\n{bench.description}\n\n"
            + "".join(f"- **{k}**: {format_value(v)}\n" for k, v in bench.summary.items())
            + "\n"
            + _grid(*rows_table(bench.rows))
            + (_image(bench.chart) if bench.chart else "")
        )
    if not doc.benchmarks:
        out.append("not run yet\n")
    out.append("## Reliability (fault injection)\n")
    if doc.reliability:
        out.append(reliability_summary(doc.reliability) + "\n\n" + _grid(*rows_table(doc.reliability["rows"])))
    else:
        out.append("not run yet\n")
    return "\n".join(out)
