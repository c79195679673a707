"""``avsep train MODEL``: train a method's recipe from the shards (``torchrun`` works unchanged)."""

from __future__ import annotations

from pathlib import Path


def register(sub, common) -> None:
    p = sub.add_parser("train", parents=[common], help="train a model (recipe of stages) from the shards")
    p.add_argument("model", help="method name, e.g. dsol, dmc, cavl, mssl, separation, counting, avc")
    p.add_argument("--data", default=None, help="build folder holding shards/ (default: params build.out_dir)")
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (default: DATA/models/MODEL)")
    p.add_argument("--logs", default=None, help="DVCLive folder (default: dvclive/MODEL)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint of this run")
    p.add_argument(
        "--no-dvcyaml",
        action="store_true",
        help="no dvc.yaml in the DVCLive folder (a dvc.yaml stage declares its metrics and plots)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from avsep.cli import CommandError, params_from, require_shards
    from avsep.models import METHODS, method

    if args.model not in METHODS:  # before loading params or torch: the name is the likeliest typo
        raise CommandError(f"unknown model {args.model!r}; known: {', '.join(sorted(METHODS))}")
    params = params_from(args)
    data = Path(args.data or params.build.out_dir)
    require_shards(data, params.shards.root)
    from avsep.train import train

    recipe = method(args.model).recipe(params, data)
    checkpoints = Path(args.checkpoints or data / "models" / args.model)
    logs = Path(args.logs or Path("dvclive") / args.model)
    result = train(recipe, params, checkpoints, logs, resume=args.resume, dvcyaml=None if args.no_dvcyaml else "auto")
    print(f"trained {args.model}: {result.global_step} steps; checkpoints in {checkpoints}, logs in {logs}")
    return 0
