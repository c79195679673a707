"""The ``avsep`` command: thin wrappers that parse arguments and call the library.

Each sub-command lives in its own module under ``avsep.cli`` and exposes
``register(subparsers, common)``; adding a command means adding its module name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from avsep.config import DEFAULT_PARAMS, ParamsError, load_params

COMMANDS = (
    "avsep.cli.bench",
    "avsep.cli.build",
    "avsep.cli.evaluate",
    "avsep.cli.experiment",
    "avsep.cli.params",
    "avsep.cli.report",
    "avsep.cli.serve",
    "avsep.cli.train",
    "avsep.cli.world",
)


def common_parser() -> argparse.ArgumentParser:
    """Options every command takes: ``--params FILE`` and repeatable ``--set a.b=value``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameter file (default: params.yaml)")
    common.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter, e.g. --set world.seed=3 (repeatable)",
    )
    return common


def params_from(args: argparse.Namespace):
    """The validated parameters named by ``--params``/``--set`` (defaults if the file is absent and not named)."""
    path = args.params
    if path == str(DEFAULT_PARAMS) and not DEFAULT_PARAMS.exists():
        path = None
    return load_params(path, args.overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avsep", description="avsep: reproducible self-supervised audiovisual learning from raw videos"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_parser()
    for name in COMMANDS:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except ParamsError as exc:
        print(f"avsep: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
