"""``avsep bench NAME``: run one benchmark, print its summary, write reports/benchmarks/NAME.{json,md}."""

from __future__ import annotations

import importlib

from avsep.bench import BENCHMARKS


def register(sub, common) -> None:
    bench = sub.add_parser("bench", help="measure speed and memory against the alternative")
    names = bench.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for module_name in BENCHMARKS:
        module = importlib.import_module(module_name)
        p = names.add_parser(module.NAME, help=module.HELP, parents=[common])
        p.add_argument("--out-dir", default="reports/benchmarks", help="where the JSON and markdown go")
        module.add_arguments(p)
        p.set_defaults(func=_run(module))


def _run(module):
    def run(args) -> int:
        from avsep.bench.report import write_result
        from avsep.cli import params_from

        result = module.run(params_from(args), args)
        json_path, md_path = write_result(module.NAME, result, args.out_dir)
        for key, value in result.get("summary", {}).items():
            print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
        print(f"wrote {json_path} and {md_path}")
        return 0

    return run
