"""``avsep bench NAME``: run one benchmark, print its summary, write reports/benchmarks/NAME.{json,md}.

Benchmark modules are imported only when run (several import torch), so ``avsep --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from avsep.bench import BENCHMARKS

NAMES = {module.rsplit(".", 1)[-1]: module for module in BENCHMARKS}


def register(sub, common) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure speed and memory against the alternative",
        description=f"benchmarks: {', '.join(sorted(NAMES))}; `avsep bench NAME --help` for options",
    )
    bench.add_argument("benchmark", choices=sorted(NAMES), metavar="NAME", help=", ".join(sorted(NAMES)))
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="the benchmark's own options")
    bench.set_defaults(func=run)


def run(args) -> int:
    from avsep.bench.report import write_result
    from avsep.cli import common_parser, params_from

    module = importlib.import_module(NAMES[args.benchmark])
    parser = argparse.ArgumentParser(
        prog=f"avsep bench {module.NAME}", description=module.HELP, parents=[common_parser()]
    )
    parser.add_argument("--out-dir", default="reports/benchmarks", help="where the JSON and markdown go")
    module.add_arguments(parser)
    options = parser.parse_args(args.rest)
    try:
        result = module.run(params_from(options), options)
    except (KeyError, ValueError) as exc:  # bad input (unknown model, nothing to train...): its message, no trace
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"avsep bench {module.NAME}: {message}", file=sys.stderr)
        return 2
    # A benchmark of several subjects (``bench train MODEL``) names each result: NAME-subject.json.
    name = module.result_name(options) if hasattr(module, "result_name") else module.NAME
    json_path, md_path = write_result(name, result, options.out_dir)
    for key, value in result.get("summary", {}).items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    print(f"wrote {json_path} and {md_path}")
    return 0
