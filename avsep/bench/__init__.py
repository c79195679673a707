"""Benchmarks: each measures avsep against the alternative in the same run and reports the ratio.

A benchmark module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(params, args) -> dict``;
:func:`avsep.bench.report.write_result` writes its JSON and markdown under ``reports/benchmarks/``. A module
that measures one of several subjects also has ``result_name(args)`` (``bench train dmc`` -> ``train-dmc``).
"""

BENCHMARKS: tuple[str, ...] = (
    "avsep.bench.features",
    "avsep.bench.world",
    "avsep.bench.decode",
    "avsep.bench.loader",
    "avsep.bench.shards",
    "avsep.bench.build",
    "avsep.bench.train",
    "avsep.bench.resample",
    "avsep.bench.evaluate",
)
