"""One self-contained HTML page (inline CSS, images and audio beside it by relative path).

A small inline script records each image's ``naturalWidth`` in the DOM after load, so a headless browser can
check that every image loaded (:mod:`avsep.report.browser`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from avsep.report.document import Benchmark, Image, ReportDoc
from avsep.report.tables import TableView

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;font-size:.85em;margin:.3em 0 1em}th,td{border:1px solid #bbb;padding:2px 6px}
th{background:#eef}td{text-align:right}td.lead{text-align:left}caption{caption-side:top;text-align:left;
font-size:.85em;color:#555;padding-bottom:.2em}.pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.ours th{background:#e6f2e6}.paper th{background:#f2ece6}.missing{color:#a33}.note{font-size:.8em;color:#555}
figure{display:inline-block;margin:.4em;vertical-align:top}figure img{max-width:560px;border:1px solid #ddd}
figcaption{font-size:.8em;color:#555}tr.holds td{background:#e6f4e6}tr.fails td{background:#f8e4e4}
"""

IMAGE_CHECK = """
window.addEventListener("load", function () {
  var imgs = document.images, broken = 0;
  for (var i = 0; i < imgs.length; i++) {
    imgs[i].setAttribute("data-natural-width", String(imgs[i].naturalWidth));
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { broken++; }
  }
  document.body.setAttribute("data-images", String(imgs.length));
  document.body.setAttribute("data-images-broken", String(broken));
});
"""


def table_html(view: TableView, kind: str) -> str:
    """``kind`` is ``ours`` or ``paper`` (colours the headers so the two are told apart at a glance)."""
    lead = len(view.lead)
    head1 = "".join(f'<th rowspan="2">{escape(h)}</th>' for h in view.lead)
    head1 += "".join(f'<th colspan="{n}">{escape(g)}</th>' for g, n in view.groups)
    head2 = "".join(f"<th>{escape(c)}</th>" for c in view.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="lead">{escape(c)}</td>' if i < lead else f"<td>{escape(c)}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in view.rows
    )
    if not view.rows:
        body = f'<tr><td class="lead missing" colspan="{lead + len(view.columns)}">not run yet</td></tr>'
    note = f'<p class="note">{escape(view.note)}</p>' if view.note else ""
    return (
        f'<div class="{kind}"><h3>{escape(view.title)}</h3><table><caption>{escape(view.caption)}</caption>'
        f"<thead><tr>{head1}</tr><tr>{head2}</tr></thead><tbody>{body}</tbody></table>{note}</div>"
    )


def _figure(image: Image) -> str:
    return (
        f'<figure><img src="{escape(image.src)}" alt="{escape(image.caption)}">'
        f"<figcaption>{escape(image.caption)}</figcaption></figure>"
    )


def _kv_table(items: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><td class="lead">{escape(str(k))}</td><td class="lead">{escape(format_value(v))}</td></tr>'
        for k, v in items.items()
    )
    return f"<table><tbody>{rows}</tbody></table>"


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def rows_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Columns (union of keys, first-seen order) and formatted cells of a list of flat dicts."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns, [[format_value(row.get(c, "")) for c in columns] for row in rows]


CLAIMS_NOTE = (
    "Each paper's claim checked on this report's metrics files (avsep's data and split), its published number, "
    "on the paper's dataset, beside; a claim that fails here is diagnosed in the page named (not measured: a "
    "metrics file it needs is missing)."
)


def claims_html(rows: list[dict[str, str]]) -> str:
    columns, cells = rows_table(rows)
    verdict = columns.index("verdict")
    return (
        f"<h2>Paper claims on this data</h2><p class=note>{escape(CLAIMS_NOTE)}</p><table><thead><tr>"
        + "".join(f"<th>{escape(c)}</th>" for c in columns)
        + "</tr></thead><tbody>"
        + "".join(
            f'<tr class="{escape(r[verdict]).replace(" ", "-")}">'
            + "".join(f'<td class="lead">{escape(c)}</td>' for c in r)
            + "</tr>"
            for r in cells
        )
        + "</tbody></table>"
    )


DIAGNOSTICS_NOTE = (
    "avsep diagnose: overfit = final/first loss on 16 fixed clips (passes at or below the threshold); probe = "
    "linear-probe accuracy against chance + margin; audio-swap / guidance-swap = how far the map / masks move "
    "when the audio / frames are another clip's (docs/models/README.md)."
)


def reliability_summary(table: dict[str, Any]) -> str:
    rows = table["rows"]
    passed = sum(r.get("pass") is True for r in rows)
    return f"{passed} of {len(rows)} fault cases pass ({table.get('suite', 'tests/faults')})"


def _reliability_html(table: dict[str, Any]) -> str:
    columns, cells = rows_table(table["rows"])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="lead">{escape(c)}</td>' for c in row) + "</tr>" for row in cells)
    return (
        f"<p>{escape(reliability_summary(table))}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _bench_html(bench: Benchmark) -> str:
    columns, cells = rows_table(bench.rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="lead">{escape(c)}</td>' for c in row) + "</tr>" for row in cells)
    chart = _figure(bench.chart) if bench.chart else ""
    return (
        f"<h3>{escape(bench.name)}</h3><p class=note>{escape(bench.description)}</p>{_kv_table(bench.summary)}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{chart}"
    )


def page_html(doc: ReportDoc) -> str:
    """The whole report as one HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>avsep report</title>",
        f"<style>{STYLE}</style>",
        f"<script>{IMAGE_CHECK}</script>",
        "</head><body>",
        "<h1>avsep report</h1>",
        "<p>avsep's numbers are measured on avsep's datasets (each row names its dataset and split); the "
        "papers' published numbers are in separate tables headed by the papers' datasets. The two are not "
        "comparable number for number.</p>",
    ]
    if doc.missing:
        parts.append(
            "<h2>Not available yet</h2><ul>"
            + "".join(f'<li class="missing">{escape(m)}</li>' for m in doc.missing)
            + "</ul>"
        )
    parts.append("<h2>Environment</h2>" + _kv_table(doc.environment))
    parts.append("<h2>Dataset</h2>")
    if doc.dataset is None:
        parts.append('<p class="missing">dataset summary: not built yet</p>')
    else:
        parts.append(_kv_table({k: v for k, v in doc.dataset.items() if k != "shard_sets"}))
        sets = doc.dataset.get("shard_sets") or []
        if sets:
            columns, cells = rows_table(sets)
            parts.append(
                "<table><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr></thead>"
                "<tbody>"
                + "".join("<tr>" + "".join(f'<td class="lead">{escape(c)}</td>' for c in r) + "</tr>" for r in cells)
                + "</tbody></table>"
            )
    if doc.per_source:
        parts.append("<p>ok clips per source: " + escape(format_value(doc.per_source)) + "</p>")
    parts += [_figure(img) for img in (doc.dataset_chart, doc.world_preview) if img]
    if doc.claims:
        parts.append(claims_html(doc.claims))
    section = None
    for task in doc.tasks:
        if task.layout.task != section:
            section = task.layout.task
            parts.append(f"<h2>{escape(section)}</h2>")
        parts.append(
            '<div class="pair">'
            + table_html(task.ours, "ours")
            + "".join(table_html(p, "paper") for p in task.published)
            + "</div>"
        )
        parts += [_figure(img) for img in task.figures]
    parts.append("<h2>Training curves</h2>")
    if not doc.training and not doc.comparisons:
        parts.append('<p class="missing">no training run yet</p>')
    parts += [_figure(img) for img in doc.comparisons + doc.training]
    parts += [f'<p class="missing">{escape(n)}</p>' for n in doc.comparison_notes]
    parts.append("<h2>Localization overlays and separation spectrograms</h2>")
    parts.append("<p class=note>Overlays: frame, map and true boxes (green sounding, red silent).</p>")
    parts += [_figure(img) for img in doc.overlays] or ['<p class="missing">not written yet</p>']
    if doc.audio:
        parts.append(
            "<h3>Audio</h3>"
            + "".join(
                f'<p>{escape(a.caption)}<br><audio controls preload="none" src="{escape(a.src)}"></audio></p>'
                for a in doc.audio
            )
        )
    if doc.diagnostics:  # optional: avsep diagnose has no stage, so the section shows only when it was run
        columns, cells = rows_table(doc.diagnostics)
        parts.append(
            f"<h2>Diagnostics</h2><p class=note>{escape(DIAGNOSTICS_NOTE)}</p><table><thead><tr>"
            + "".join(f"<th>{escape(c)}</th>" for c in columns)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f'<td class="lead">{escape(c)}</td>' for c in r) + "</tr>" for r in cells)
            + "</tbody></table>"
        )
        if doc.diagnostics_chart:
            parts.append(_figure(doc.diagnostics_chart))
    parts.append("<h2>Benchmarks</h2>")
    parts += [_bench_html(b) for b in doc.benchmarks] or ['<p class="missing">not run yet</p>']
    parts.append("<h2>Reliability (fault injection)</h2>")
    parts.append(_reliability_html(doc.reliability) if doc.reliability else '<p class="missing">not run yet</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
