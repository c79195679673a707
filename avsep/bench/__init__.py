"""Benchmarks: each measures avsep against the alternative in the same run and reports the ratio.

A benchmark module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(params, args) -> dict``;
:func:`avsep.bench.report.write_result` writes its JSON and markdown under ``reports/benchmarks/``.
"""

BENCHMARKS: tuple[str, ...] = ("avsep.bench.features", "avsep.bench.world", "avsep.bench.decode", "avsep.bench.loader",
                               "avsep.bench.build")
