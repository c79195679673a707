"""``avsep build``: run the build-dataset flow locally (Prefect's ephemeral API, no server needed)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub, common) -> None:
    p = sub.add_parser("build", parents=[common], help="build shards from a dataset source (Prefect flow)")
    p.add_argument("--source", help="dataset source (default: params dataset.source)")
    p.add_argument("--index", help="the source's index file (default: params dataset.index)")
    p.add_argument("--out", help="output folder (default: params build.out_dir)")
    p.add_argument("--runner", choices=["threads", "dask"], help="task runner (default: params build.runner)")
    p.set_defaults(func=run)


def run(args) -> int:
    from avsep.cli import params_from
    from pipelines.build_dataset import run_build

    extra = [f"{key}={value}" for key, value in (("dataset.source", args.source), ("dataset.index", args.index),
                                                   ("build.out_dir", args.out), ("build.runner", args.runner))
             if value is not None]
    args.overrides = list(args.overrides) + extra
    params = params_from(args)
    params_file = args.params if Path(args.params).exists() else None
    result = run_build(params, params_file, args.overrides)
    print(json.dumps({k: result[k] for k in ("clips", "ok", "failed", "failed_by_step", "per_curriculum")}))
    return 0 if result["ok"] > 0 else 1
