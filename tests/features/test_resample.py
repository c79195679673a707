"""avsep.features.resample: torchaudio's sinc resampling with the kernel built once."""

from __future__ import annotations

import pytest
import torch
import torchaudio.functional as AF

from avsep.features import resample
from avsep.features.batched import _resampler


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rates", [(16000, 11025), (44100, 11025), (11025, 16000)])
def test_same_samples_as_torchaudio_functional(dtype, rates):
    torch.manual_seed(0)
    waves = torch.rand(3, 2, 12345, dtype=dtype) * 2 - 1  # any leading shape
    ours, theirs = resample(waves, *rates), AF.resample(waves, *rates)
    assert ours.dtype == dtype and ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-5 if dtype == torch.float32 else 1e-12)


def test_kernel_is_built_once_per_rate_pair_and_equal_rates_pass_through():
    _resampler.cache_clear()
    wave = torch.randn(4000)
    for _ in range(3):
        resample(wave, 16000, 11025)
    info = _resampler.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert resample(wave, 16000, 16000) is wave


def test_bench_resample_reports_both_and_their_agreement(tmp_path):
    import argparse
    import json

    from avsep.bench import BENCHMARKS
    from avsep.bench import resample as bench
    from avsep.bench.report import write_result
    from avsep.config import load_params

    assert "avsep.bench.resample" in BENCHMARKS
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    result = bench.run(load_params(None), parser.parse_args(["--windows", "2", "--repeats", "1"]))
    doc = json.loads(write_result(bench.NAME, result, tmp_path)[0].read_text())
    summary = doc["summary"]
    assert summary["speedup"] == summary["functional_s"] / summary["cached_s"] and summary["cached_s"] > 0
    assert summary["max_abs_diff"] <= 1e-5
    assert summary["batch"].endswith("16000 Hz -> 11025 Hz")
    with pytest.raises(ValueError, match="nothing to resample"):
        bench.run(load_params(None), parser.parse_args(["--from-rate", "11025"]))
