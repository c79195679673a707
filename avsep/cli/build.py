"""``avsep build``: run the build-dataset flow locally (Prefect's ephemeral API, no server needed)."""

from __future__ import annotations

import json
import logging


def register(sub, common) -> None:
    p = sub.add_parser("build", parents=[common], help="build shards from a dataset source (Prefect flow)")
    p.add_argument("--source", help="dataset source (default: params dataset.source)")
    p.add_argument("--index", help="the source's index file (default: params dataset.index)")
    p.add_argument("--out", help="output folder (default: params build.out_dir)")
    p.add_argument("--runner", choices=["threads", "dask"], help="task runner (default: params build.runner)")
    p.set_defaults(func=run)


def run(args) -> int:
    from avsep.cli import CommandError, params_from
    from avsep.config import derive
    from avsep.config.dataset import check_source_name
    from avsep.download.youtube import checked_cookies
    from avsep.sources import SOURCES, check_index, load_source, resolve_source

    if args.source is not None:
        try:
            check_source_name(args.source)
        except ValueError as exc:
            raise CommandError(f"--source: {exc}") from None

    given = {
        "dataset.source": args.source,
        "dataset.index": args.index,
        "build.out_dir": args.out,
        "build.runner": args.runner,
    }
    params = derive(params_from(args), {key: value for key, value in given.items() if value is not None})
    # A wrong source, a missing or malformed index or cookies file is reported now, in about a second, not after
    # Prefect starts (a bad cookies file would fail every YouTube clip alike).
    checked_cookies(params.dataset.download)
    resolve_source(params.dataset.source)
    check_index(params.dataset.source, params.dataset.index)
    if params.dataset.source in SOURCES:
        # Built-in readers only parse a file (or list a folder), so reading twice costs little; a researcher's
        # function may be slow or reach the network, so it runs once, inside the flow. Its warnings (skipped
        # files, dropped labels) are left to the flow's reading, so that each is logged once.
        logging.disable(logging.WARNING)
        try:
            load_source(params.dataset.source, params.dataset.index, params.dataset)
        finally:
            logging.disable(logging.NOTSET)

    from pipelines import configure_prefect

    configure_prefect()
    from pipelines.build_dataset import run_build  # imports Prefect: after its defaults are set

    result = run_build(params)
    print(json.dumps({k: result[k] for k in ("clips", "ok", "failed", "failed_by_step", "per_curriculum")}))
    return 0 if result["ok"] > 0 else 1
