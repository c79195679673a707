"""The ``avsep`` command: thin wrappers that parse arguments and call the library.

Each sub-command lives in its own module under ``avsep.cli`` and exposes
``register(subparsers, common)``; adding a command means adding its module name to ``COMMANDS``.

A user's mistake (a name that does not exist, a missing file, a bad ``--set``) is one line on stderr,
``avsep COMMAND: input: reason``, and exit status 2: :data:`USER_ERRORS` lists the exceptions that mean that.
Any other exception is a bug and keeps its traceback. Commands check what they can before importing heavy
modules or starting Prefect, so a wrong name fails in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from avsep import __version__
from avsep.config import DEFAULT_PARAMS, ParamsError, load_params
from avsep.download.errors import ConfigError
from avsep.sources.errors import IndexFormatError, SourceError

COMMANDS = (
    "avsep.cli.bench",
    "avsep.cli.build",
    "avsep.cli.claims",
    "avsep.cli.diagnose",
    "avsep.cli.evaluate",
    "avsep.cli.experiment",
    "avsep.cli.params",
    "avsep.cli.report",
    "avsep.cli.serve",
    "avsep.cli.train",
    "avsep.cli.world",
)


class CommandError(Exception):
    """The user's input is wrong; the message names the input and the reason (printed without a traceback)."""


# What a user can cause and fix: printed as one line, exit status 2. Anything else is a bug: traceback.
USER_ERRORS: tuple[type[Exception], ...] = (CommandError, ParamsError, IndexFormatError, SourceError, ConfigError)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a multi-line message keeps its lines, joined by "; ")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


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


def require_shards(data: Path, shards_root: str | None = None) -> None:
    """Raise :class:`CommandError` unless ``data`` holds the ``shards/`` of a build (before torch is imported).
    With ``shards.root`` set the shards live there (perhaps a URL): each set is checked when it is opened."""
    if shards_root is None and not (data / "shards").is_dir():
        raise CommandError(f"{data}: no shards/ folder; build the dataset first (avsep build --out {data})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avsep", description="avsep: reproducible self-supervised audiovisual learning from raw videos"
    )
    parser.add_argument("--version", action="version", version=f"avsep {__version__}")
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
    except USER_ERRORS as exc:
        print(f"avsep {args.command}: {one_line(exc)}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
