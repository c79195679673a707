"""Benchmark charts: one bar per row, named by what tells the rows apart, sized by a measurement."""

from __future__ import annotations

import matplotlib.image

from avsep.config.report import ReportParams
from avsep.report.figures import benchmark_chart, benchmark_columns


def test_rows_of_one_model_are_named_by_their_variant():
    rows = [
        {"model": "counting", "stage": "train", "samples_per_s": 312.4, "steps": 200, "variant": "as configured"},
        {
            "model": "counting",
            "stage": "train",
            "samples_per_s": 175.6,
            "steps": 200,
            "variant": "counting.memory=false",
        },
    ]
    assert benchmark_columns(rows) == (["variant"], "samples_per_s")


def test_settings_join_the_names_where_the_text_repeats_and_floats_are_the_measure():
    rows = [
        {"loader": name, "workers": workers, "cache": "warm", "samples_per_s": rate, "timed_samples": 100}
        for name, workers, rate in (("streaming", 0, 1.0), ("per_file", 0, 2.0), ("streaming", 2, 3.0))
    ]
    assert benchmark_columns(rows) == (["loader", "workers"], "samples_per_s")  # not workers as the bar length
    assert benchmark_columns([{"method": "a", "seconds": 1.5}]) == (["method"], "seconds")
    assert benchmark_columns([]) == ([], None)


def test_chart_is_written(tmp_path):
    rows = [
        {"model": "counting", "samples_per_s": 312.4, "variant": "as configured"},
        {"model": "counting", "samples_per_s": 175.6, "variant": "counting.memory=false"},
    ]
    path = benchmark_chart({"benchmark": "train-counting", "rows": rows}, tmp_path / "bench.png", ReportParams())
    assert path is not None and matplotlib.image.imread(path).shape[0] > 0
    empty = {"benchmark": "none", "rows": [{"note": "x"}]}
    assert benchmark_chart(empty, tmp_path / "none.png", ReportParams()) is None
