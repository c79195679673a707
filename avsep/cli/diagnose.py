"""``avsep diagnose MODEL``: the checks that tell a bug from too little training -> reports/diagnose/MODEL.json."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser(
        "diagnose",
        parents=[common],
        help="overfit, linear-probe, audio-swap and guidance-swap checks of a model: a table and a JSON",
    )
    p.add_argument("model", help="method name, e.g. avc, dmc, dsol, mssl, cavl, pretrain, separation")
    p.add_argument(
        "--checks",
        default=None,
        help="comma-separated subset of overfit,probe,audio_swap,guidance_swap (default: every check the model "
        "declares)",
    )
    p.add_argument("--out", default=None, help="the JSON to write (default: diagnose.out_dir/MODEL.json)")
    p.add_argument("--data", default=None, help="build folder holding shards/ (default: params build.out_dir)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="weights the probe and the swaps read: a checkpoint file (e.g. DATA/models/dsol/one.pt) or a "
        "folder (its last stage) (default: DATA/models/MODEL/<last stage>.pt, else a fresh model)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def table(doc: dict) -> str:
    """The checks of a diagnose document as aligned text rows: check, value, threshold, passed."""
    rows = [("check", "value", "threshold", "passed")]
    for entry in doc["checks"]:
        value = entry["value"]
        shown = "nan" if value is None else f"{value:.4g}"
        rows.append((entry["check"], shown, f"{entry['threshold']:.4g}", "yes" if entry["passed"] else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def run(args) -> int:
    from pathlib import Path

    from avsep.cli import CommandError, params_from, require_shards
    from avsep.models import METHODS

    if args.model not in METHODS:  # before loading params or torch: the name is the likeliest typo
        raise CommandError(f"unknown model {args.model!r}; known: {', '.join(sorted(METHODS))}")
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    params = params_from(args)
    data = Path(args.data or params.build.out_dir)
    require_shards(data, params.shards.root)
    from avsep.diagnose import diagnose_model
    from avsep.shards.reader import ShardSetError
    from avsep.train import CheckpointError

    try:
        doc = diagnose_model(
            args.model,
            params,
            data,
            checks=checks,
            checkpoint=args.checkpoint,
            out=args.out,
            progress=not args.no_progress,
        )
    except (ValueError, CheckpointError, ShardSetError) as exc:
        raise CommandError(str(exc)) from None
    print(f"{args.model} ({doc['checkpoint'] or 'fresh model'}):")
    print(table(doc))
    return 0
