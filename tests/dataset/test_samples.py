"""Samples describe themselves: a built clip carries its span and scene, and the views hand readers the stored
sample rate and scene, so nothing re-reads params or parses clip ids to interpret data."""

from __future__ import annotations

import json

import pytest

from avsep.config import derive, load_params
from avsep.dataset.assemble import write_set_split
from avsep.dataset.clips import build_clip
from avsep.dataset.layout import Layout, read_clip_sample
from avsep.dataset.mixtures import write_mixture_sets
from avsep.shards import evaluation_view, make_loader, nmix_view
from avsep.shards.views import batch_sample_rate
from avsep.sources.records import ClipRecord
from tests.dataset.test_digests import _store_solo_clips
from tests.download.server import make_mp4


def test_a_built_clip_carries_its_span_and_scene(tmp_path):
    params = derive(load_params(None), {"build.frame_size": 32, "build.fps": 2.0})
    video = make_mp4(tmp_path / "video.mp4", seconds=2.0)
    record = ClipRecord(
        "test-k2-000000", "folder", str(video), 0.5, 2.0, ["cello", "flute"], 2, "C2", "test", meta={"scene": "k2"}
    )
    layout = Layout(tmp_path / "data")
    assert build_clip(record, params, layout).status == "ok"
    meta = json.loads(read_clip_sample(layout.clip_sample(record.clip_id))["json"])
    assert meta["scene"] == "k2" and meta["start_s"] == 0.5
    assert meta["end_s"] == pytest.approx(meta["start_s"] + meta["duration_s"]) == pytest.approx(2.0, abs=0.05)

    write_set_split(layout, "clips", "test", [record.clip_id], {record.clip_id: "-"}, params)
    view = evaluation_view(
        str(layout.shards / "clips"), "test", params.shards, view="localization", batch_size=1, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0, ranks=1)))
    assert batch["scene"] == ["k2"] and batch_sample_rate(batch) == params.build.sample_rate


def test_the_nmix_view_carries_the_stored_sample_rate(tmp_path):
    params = derive(
        load_params(None),
        {
            "build.mixing.cocktail_per_split": {},
            "build.mixing.nmix_sizes": [2],
            "build.mixing.nmix_per_split": {"train": 2},
        },
    )
    layout = Layout(tmp_path)
    write_mixture_sets(layout, _store_solo_clips(layout, rate=8000), params)
    batch = next(
        iter(
            make_loader(
                nmix_view(str(layout.shards / "nmix2"), "train", params.shards, batch_size=2),
                params.shards,
                workers=0,
                ranks=1,
            )
        )
    )
    assert batch["sample_rate"] == [8000, 8000] and batch_sample_rate(batch) == 8000 != params.build.sample_rate
    with pytest.raises(ValueError, match="mixes sample rates"):
        batch_sample_rate({**batch, "sample_rate": [8000, 16000]})
