import argparse

from avsep.bench import BENCHMARKS
from avsep.bench import decode as bench
from avsep.config import load_params


def test_decode_benchmark_runs_all_methods_on_tiny_clips():
    assert "avsep.bench.decode" in BENCHMARKS
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(
        ["--n-clips", "1", "--seconds", "1", "--source-size", "64", "--size", "32", "--repeats", "1"]
    )
    result = bench.run(load_params(None), args)
    assert [row["method"] for row in result["rows"]] == list(bench.METHODS)
    assert all(row["total_s"] > 0 for row in result["rows"])
    assert result["summary"]["b_over_a"] > 0 and result["summary"]["c_over_b"] > 0
