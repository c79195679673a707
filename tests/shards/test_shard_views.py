"""Cocktail, N-mix and separation views read back through webdataset from shards avsep wrote."""

import numpy as np
import torch

from avsep.dataset.cocktail import (
    Clip,
    ClipInfo,
    encode_cocktail,
    encode_nmix,
    plan_cocktails,
    plan_nmix,
    render_cocktail,
    render_nmix,
)
from avsep.shards import ShardWriter, cocktail_view, evaluation_view, make_loader, nmix_view, separation_view
from avsep.shards.codec import decode_wav

from tiny_shards import RATE, clip_members, small_params, write_set

LABELS = ["accordion", "cello", "flute", "tuba"]


def _clips() -> dict[str, Clip]:
    clips = {}
    for i, label in enumerate(LABELS):
        rng = np.random.default_rng(i)
        clips[label] = Clip(
            label,
            label,
            rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8),
            4.0,
            rng.uniform(-0.4, 0.4, 2 * RATE).astype(np.float32),
            RATE,
        )
    return clips


def _catalog(clips):
    return [ClipInfo(c.key, c.label, 2.0) for c in clips.values()]


def test_cocktail_view_reads_the_ground_truth(tmp_path):
    clips = _clips()
    plans = plan_cocktails(_catalog(clips), 3, seed=0, split="test")
    with ShardWriter(tmp_path, "test", max_samples=2) as writer:
        for plan in plans:
            writer.write(plan.key, encode_cocktail(render_cocktail(plan, clips.__getitem__), 90))
    params = small_params()
    batches = list(
        make_loader(
            cocktail_view(str(tmp_path), "test", params, batch_size=3, seed=0, mode="eval", with_logmel=False), params
        )
    )
    assert sorted(k for b in batches for k in b["key"]) == [p.key for p in plans]
    by_key = {k: (b, i) for b in batches for i, k in enumerate(b["key"])}
    for plan in plans:
        batch, i = by_key[plan.key]
        assert batch["frame"].shape[1:] == (3, 16, 16) and batch["audio"].shape[1] == RATE
        assert batch["sounding"][i].tolist() == [p.sounding for p in plan.parts]
        assert batch["classes"][i] == [p.label for p in plan.parts]
        assert batch["boxes"][i].tolist() == [[0, 0, 8, 8], [8, 0, 16, 8], [0, 8, 8, 16], [8, 8, 16, 16]]


def test_nmix_view_components_sum_to_the_mixture(tmp_path):
    clips = _clips()
    with ShardWriter(tmp_path, "test", max_samples=10) as writer:
        for plan in plan_nmix(_catalog(clips), 3, 2, seed=0, split="test", window_s=1.0):
            writer.write(plan.key, encode_nmix(render_nmix(plan, clips.__getitem__, window_s=1.0), 90))
    params = small_params()
    batch = next(iter(make_loader(nmix_view(str(tmp_path), "test", params, batch_size=2), params)))
    assert batch["sources"].shape == (2, 3, RATE) and batch["frames"].shape == (2, 3, 4, 3, 16, 16)
    assert torch.allclose(batch["mix"], batch["sources"].sum(1), atol=3 / 32767)  # 16-bit rounding of each
    assert batch["index"] == [0, 1]


def test_separation_view_mixes_distinct_clips_on_the_fly(tmp_path):
    write_set(tmp_path, n_clips=6, per_shard=2)
    params = small_params(resampled=False)
    params.separation.window_samples = 11025  # 1 s at 11.025 kHz, resampled from the stored 8 kHz
    batch = next(iter(make_loader(separation_view(str(tmp_path), "train", params, batch_size=2, seed=0), params)))
    assert batch["mix"].shape == (2, 11025) and batch["sources"].shape == (2, 2, 11025)
    assert batch["frames"].shape == (2, 2, 3, 3, 16, 16)
    assert torch.allclose(batch["mix"], batch["sources"].sum(1))
    assert all(len(set(keys)) == 2 for keys in batch["keys"])
    assert ((batch["gains"] >= 0.5) & (batch["gains"] <= 1.5)).all()


def test_separation_eval_window_is_the_centre_of_the_clip(tmp_path):
    write_set(tmp_path, n_clips=2, per_shard=2)
    params = small_params()
    params.separation.sample_rate, params.separation.window_samples = RATE, RATE
    batch = next(
        iter(
            make_loader(
                evaluation_view(str(tmp_path), "train", params, view="separation", batch_size=2, seed=0), params
            )
        )
    )
    for i, key in enumerate(batch["key"]):
        stored, _ = decode_wav(clip_members(key, int(key[-3:]))["wav"])
        assert np.array_equal(batch["audio"][i].numpy(), stored[RATE // 2 : RATE // 2 + RATE])  # 2 s clip, 1 s window
