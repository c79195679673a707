"""``avsep params``: the fully resolved parameters of a run, or ``params.yaml`` regenerated from the schema."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser(
        "params",
        parents=[common],
        help="print the resolved parameters as commented YAML, or regenerate params.yaml from the schema",
        description="Without --write/--check: print every parameter the run would use (--params and --set "
        "applied, defaults filled in, each per-profile value resolved to the active profile's), each with its "
        "description. --write FILE writes the values of "
        "--params (with --set) as commented YAML; --check FILE fails when FILE differs from that.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", metavar="FILE", default=None, help="write the commented values to FILE")
    mode.add_argument(
        "--check", metavar="FILE", default=None, help="exit 1 when FILE is not the rendering of its own values"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from avsep.cli import params_from
    from avsep.config import load_tree
    from avsep.config.document import REGENERATE, render_params_yaml

    if args.check is not None:
        path = Path(args.check)
        expected = render_params_yaml(load_tree(path, args.overrides))
        if path.read_text(encoding="utf-8") != expected:
            print(f"avsep params: {path} differs from the rendering of its values; run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{path}: up to date")
        return 0
    if args.write is not None:
        text = render_params_yaml(load_tree(args.params, args.overrides))
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
        return 0
    from avsep.config.resolve import resolved_tree

    params = params_from(args)
    sys.stdout.write(
        f"# resolved for profile: {params.profile}: each per-profile value is the {params.profile} profile's\n"
        "# (`avsep params --write FILE` writes both)\n"
    )
    sys.stdout.write(render_params_yaml(resolved_tree(params)))
    return 0
