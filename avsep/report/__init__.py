"""The report: avsep's tables beside the papers' published numbers, plots, overlays, dataset and environment.

``write_report(params)`` reads what exists (metrics JSONs, benchmarks, the build summary, DVCLive runs, PNG
overlays, WAVs, the world preview), says what is missing, and writes ``reports/index.html`` and its markdown
twin ``reports/README.md``. Inputs and the metrics schema: docs/report.md.
"""

from avsep.report.build import ReportPaths, write_report

__all__ = ["ReportPaths", "write_report"]
