"""``avsep report``: write reports/index.html and reports/README.md from whatever results exist."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="write the report (tables beside the papers' numbers, plots, dataset, environment)",
    )
    p.add_argument("--out-dir", default=None, help="output folder (default: report.out_dir from params)")
    p.add_argument(
        "--check", action="store_true", help="render the page in headless Chromium and fail if any image did not load"
    )
    p.add_argument("--screenshot", default=None, metavar="PNG", help="with --check: also save a screenshot")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from avsep.cli import params_from
    from avsep.report import write_report
    from avsep.report.browser import BrowserError, check_report
    from avsep.report.collect import ReportInputError

    params = params_from(args)
    if args.out_dir is not None:
        params.report.out_dir = args.out_dir
    try:
        paths = write_report(params)
    except ReportInputError as exc:
        print(f"avsep report: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {paths.html} and {paths.markdown} ({len(paths.images)} images)")
    if args.check:
        try:
            result = check_report(paths.html, args.screenshot)
        except BrowserError as exc:
            print(f"avsep report --check: {exc}", file=sys.stderr)
            return 3
        if result.broken:
            print(
                f"avsep report --check: {len(result.broken)} of {result.images} images did not load: "
                f"{', '.join(result.broken)}",
                file=sys.stderr,
            )
            return 1
        print(f"browser check: all {result.images} images loaded")
    return 0
