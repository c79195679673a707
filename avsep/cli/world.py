"""``avsep world``: render the built-in audiovisual world (or a preview sheet of it)."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser(
        "world",
        parents=[common],
        help="render the procedural audiovisual world: mp4s, ground-truth JSONs and index.csv",
    )
    p.add_argument("--out", default="data/world", help="output folder (default: data/world)")
    p.add_argument("--seed", type=int, default=None, help="world seed (default: world.seed from params)")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: world.workers)")
    p.add_argument(
        "--preview",
        type=int,
        default=None,
        metavar="N",
        help="instead of the world, write OUT/preview.png: N clips, boxes and log-mel",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from avsep.cli import params_from

    overrides = list(args.overrides) + ([f"world.seed={args.seed}"] if args.seed is not None else [])
    args.overrides = overrides
    params = params_from(args)  # every parameter is validated here, before anything is written
    out = Path(args.out)
    if args.preview is not None:
        from avsep.world.preview import write_preview

        try:
            path = write_preview(params.world, args.preview, out / "preview.png")
        except ValueError as exc:
            print(f"avsep world: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    from avsep.world.writer import WorldError, write_world

    try:
        index, timings = write_world(
            params.world, params.media.encode, out, workers=args.workers, progress=not args.no_progress
        )
    except WorldError as exc:
        print(f"avsep world: {exc}", file=sys.stderr)
        return 2
    done = sum(1 for t in timings if "skipped" not in t)
    print(f"wrote {index}: {len(timings)} clips ({done} rendered, {len(timings) - done} up to date)")
    return 0
