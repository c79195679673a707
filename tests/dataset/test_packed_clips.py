"""A build with ``shards.frames_layout: packed`` stores each clip's frames as one member; the mixtures and the
views read such clips as they read per-frame ones, and the layout is part of each clip's input hash."""

from __future__ import annotations

import numpy as np
import torch

from avsep.config import derive, load_params
from avsep.dataset.assemble import write_set_split
from avsep.dataset.clips import build_clip, input_hash
from avsep.dataset.layout import Layout, read_clip_sample
from avsep.dataset.mixtures import load_stored_clip
from avsep.shards import evaluation_view, make_loader
from avsep.sources.records import ClipRecord
from tests.download.server import make_mp4


def test_a_packed_build_stores_one_frames_member_that_every_reader_takes(tmp_path):
    base = derive(load_params(None), {"build.frame_size": 32, "build.fps": 2.0})
    video = make_mp4(tmp_path / "video.mp4", seconds=2.0)
    record = ClipRecord("test-solo-000000", "folder", str(video), 0.0, 2.0, ["cello"], 1, "C1", "test")
    loaded, batches = {}, {}
    for layout in ("per_frame", "packed"):
        params = derive(base, {"shards.frames_layout": layout})
        data = Layout(tmp_path / layout)
        assert build_clip(record, params, data).status == "ok"
        members = read_clip_sample(data.clip_sample(record.clip_id))
        assert ("frames.jpgs" in members) == (layout == "packed") and ("000.jpg" in members) == (layout != "packed")
        loaded[layout] = load_stored_clip(data, record.clip_id)
        write_set_split(data, "clips", "test", [record.clip_id], {record.clip_id: "-"}, params)
        view = evaluation_view(
            str(data.shards / "clips"), "test", params.shards, view="localization", batch_size=1, seed=0
        )
        batches[layout] = next(iter(make_loader(view, params.shards, workers=0, ranks=1)))
    assert loaded["packed"].frames.shape == (4, 32, 32, 3)
    assert np.array_equal(loaded["packed"].frames, loaded["per_frame"].frames)
    assert torch.equal(batches["packed"]["frame"], batches["per_frame"]["frame"])
    assert input_hash(record, derive(base, {"shards.frames_layout": "packed"})) != input_hash(record, base)
