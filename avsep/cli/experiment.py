"""``avsep experiment NAME...``: the papers' claims as experiments on the built-in world (CAVL Fig. 3, Tables 1-2,
counting); writes ``{cavl.experiments.out_dir}/NAME.json``. See docs/models/cavl.md."""

from __future__ import annotations

from pathlib import Path

NAMES = ("curriculum-effect", "curriculum-order", "localization", "probe", "counting")


def register(sub, common) -> None:
    p = sub.add_parser(
        "experiment", parents=[common], help="run the curriculum/localization/probe/counting experiments"
    )
    p.add_argument(
        "names",
        nargs="+",
        choices=[*NAMES, "all"],
        metavar="NAME",
        help=f"one or more of {', '.join(NAMES)}, or all (runs are shared between experiments)",
    )
    p.add_argument("--data", default=None, help="build folder holding shards/ (default: params build.out_dir)")
    p.set_defaults(func=run)


def run(args) -> int:
    from avsep.cli import params_from
    from avsep.experiments.curriculum import run_experiments

    params = params_from(args)
    names = list(NAMES) if "all" in args.names else list(dict.fromkeys(args.names))
    written = run_experiments(names, params, Path(args.data or params.build.out_dir))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0
