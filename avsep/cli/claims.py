"""``avsep claims``: the papers' claims checked on one metrics folder, or their spread over several (seeds,
machines): the report's first table, as text."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser(
        "claims",
        parents=[common],
        help="check the papers' claims on metrics folders: one folder's verdicts, or their spread over several",
        description="Each claim of the report's table (avsep/report/claims.py, docs/report.md) checked on the "
        "metrics files of each FOLDER (default: report.metrics_dir). One folder: the verdict and the numbers it "
        "read. Several (one per seed or machine): how many runs each claim holds in, and every number as mean "
        "± sample sd. The counter claim reads counting.streams from the parameters.",
    )
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="metrics folders (reports/metrics/*.json each)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the rows as JSON to FILE")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from avsep.cli import CommandError, params_from
    from avsep.io import atomic_write_text
    from avsep.report.claims import check_claims, spread
    from avsep.report.collect import ReportInputError, read_metrics
    from avsep.report.html import rows_table

    params = params_from(args)
    folders = [Path(f) for f in args.folders] or [Path(params.report.metrics_dir)]
    streams = tuple(params.counting.streams.get(params.profile))
    runs = []
    for folder in folders:
        if not folder.is_dir():
            raise CommandError(f"{folder}: no such metrics folder")
        try:
            runs.append(check_claims(read_metrics(folder), streams))
        except ReportInputError as exc:
            raise CommandError(str(exc)) from None
    rows = [c.row() for c in runs[0]] if len(runs) == 1 else spread(runs)
    header, cells = rows_table(rows)
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for cell in cells:
        print("| " + " | ".join(c.replace("|", "\\|") for c in cell) + " |")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    return 0
