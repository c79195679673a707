"""The audiovisual counter: Poisson regression, the decision rule, and predictions the dataset flow reads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avsep.config import derive, load_params
from avsep.config.counting import CountingAugment
from avsep.dataset.curricula import read_predictions
from avsep.evaluate.runner import evaluate_model
from avsep.losses.cavl import poisson_count_loss
from avsep.models import method
from avsep.models.counting import (
    Counter,
    CounterMember,
    augment,
    build,
    count_split,
    counter_shards,
    counting_loss,
    decide,
    evaluate_k_scenes,
    evaluation_params,
    motion_input,
    write_predictions,
)
from avsep.shards import evaluation_view, make_loader
from avsep.shards.batching import MemoryBatches
from avsep.train import train

TINY = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=3",
    "shards.workers=0",
    "train.progress=false",
    "train.log_every=1",
    "counting.epochs.demo=1",
    "counting.window_s=2.0",
]


def test_poisson_loss_by_hand():
    # λ = 2, n = 3: λ − n·log λ = 2 − 3·log 2
    loss = poisson_count_loss(torch.tensor([math.log(2.0)]), torch.tensor([3.0]))
    assert loss.item() == pytest.approx(2 - 3 * math.log(2), rel=1e-6)
    # the loss is smallest at λ = n
    rates = torch.linspace(0.5, 6, 56)
    best = rates[poisson_count_loss_each(rates.log(), 3.0).argmin()]
    assert best.item() == pytest.approx(3.0, abs=0.1)


def poisson_count_loss_each(log_rates: torch.Tensor, n: float) -> torch.Tensor:
    return torch.stack([poisson_count_loss(r[None], torch.tensor([n])) for r in log_rates])


def test_decision_rules():
    log_rate = torch.tensor([2.6, 0.4, 12.0]).log()
    assert decide(log_rate, "round", 8).tolist() == [3.0, 0.0, 8.0]
    assert decide(log_rate, "mode", 8).tolist() == [2.0, 0.0, 8.0]


def test_predictions_round_trip_and_k_scene_scores(tmp_path):
    ids = ["test-k1-000000", "test-k3-000000", "test-solo-000001"]
    path = write_predictions(ids, np.array([1.0, 2.0, 1.0]), tmp_path / "pred" / "predictions.csv")
    assert read_predictions(path) == {"test-k1-000000": 1, "test-k3-000000": 2, "test-solo-000001": 1}
    scores = evaluate_k_scenes(["k1", "k3", "solo"], np.array([1.0, 2.0, 1.0]), np.array([1.0, 3.0, 1.0]), cap=4)
    assert scores["k_scenes"]["n"] == 2 and scores["k_scenes"]["accuracy"] == pytest.approx(0.5)
    assert scores["all"]["accuracy"] == pytest.approx(2 / 3) and scores["all"]["mae"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("memory", [True, False], ids=["memory", "streamed"])
def test_counter_trains_and_writes_predictions(world_data, tmp_path, memory):
    params = load_params("params.yaml", TINY + [f"counting.memory={str(memory).lower()}"])
    counting = method("counting")
    result = train(counting.recipe(params, world_data), params, tmp_path / "ckpt", tmp_path / "live")
    assert all(math.isfinite(row["loss"]) for row in result.history if "loss" in row)
    clips = world_data / "shards" / "clips"
    ids, predicted, labelled, scenes = count_split(result.model, clips, "test", params)
    assert len(ids) == len(set(ids)) == len(predicted) == len(labelled) > 0
    assert set(labelled.tolist()) <= {1.0, 2.0, 3.0, 4.0}
    path = write_predictions(ids, predicted, tmp_path / "predictions.csv")
    assert set(read_predictions(path)) == set(ids)
    # `avsep evaluate counting` hears the windows the counter trained on, as count_split does: same scores
    doc = evaluate_model(
        "counting",
        params,
        world_data,
        checkpoint=tmp_path / "ckpt" / "train.pt",
        metrics_dir=tmp_path / "metrics",
        overlays=0,
        progress=False,
    )
    expected = evaluate_k_scenes(scenes, predicted, labelled, cap=params.evaluate.counting.cap)["k_scenes"]
    entry = doc["protocols"]["counting:cap4@kscenes"]
    assert entry["window_s"] == params.counting.window_s == 2.0  # not the localizers' 1-s windows
    assert (entry["n"], entry["accuracy"], entry["mae"]) == (expected["n"], expected["accuracy"], expected["mae"])
    batch = {"motion": torch.zeros(2, 1, 64, 64), "audio": torch.zeros(2, 32000)}
    counts = counting.tasks["counting"](result.model.eval(), batch)
    assert counts.shape == (2,) and torch.equal(counts, counts.round())


def test_evaluation_hears_the_training_window():
    params = load_params("params.yaml", ["counting.window_s=6.0"])
    assert evaluation_params(params).shards.localization.window_s == 6.0
    assert params.shards.localization.window_s == 1.0  # the shared default is left alone
    assert evaluation_params(params).shards.localization.motion and not params.shards.localization.motion
    audio_only = load_params("params.yaml", ["counting.streams=[audio]"])
    assert not counter_shards(audio_only).localization.motion  # no frames decoded for a stream it lacks


def test_in_the_world_the_sounding_objects_move(world_data):
    """The motion stream's premise, on the rendered test world: inside the box of an object that sounds, the
    grey levels spread over the clip; inside a silent one's, hardly at all (only compression noise)."""
    params = evaluation_params(load_params("params.yaml", ["shards.workers=0"]))
    view = evaluation_view(
        str(world_data / "shards" / "clips"), "train", params.shards, view="localization", batch_size=8, seed=0
    )
    sounding: list[float] = []
    silent: list[float] = []
    for batch in make_loader(view, params.shards):
        for motion, objects in zip(batch["motion"], batch["objects"]):
            for obj in objects:
                x0, y0, x1, y1 = (round(v) for v in obj["box"])  # float pixels: round() gives ints
                inside = motion[0, y0:y1, x0:x1]
                if inside.numel():
                    (sounding if obj["sounding"] else silent).append(float(inside.mean()))
    assert len(sounding) > 10 and len(silent) > 3
    assert min(sounding) > max(silent)


def _batch(counts: list[float], size: int = 16, samples: int = 50):
    motion = torch.zeros(len(counts), 1, size, size)
    motion[:, :, 4:12, 6:10] = torch.arange(1, len(counts) + 1, dtype=torch.float32)[:, None, None, None]
    return motion, torch.ones(len(counts), samples), torch.tensor(counts)


def test_augment_without_changes_is_the_identity():
    motion, waves, counts = _batch([1, 2, 3, 4])
    still = CountingAugment(mosaic=0.0, zoom_min=1.0, flip=False)
    out = augment(motion, waves, counts, still, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(out, (motion, waves, counts))) and out[3] is None


def test_mosaics_add_counts_and_sound():
    motion, waves, counts = _batch([1.0] * 8)
    mosaics = CountingAugment(mosaic=1.0, gain_db=0.0, max_mosaic_count=3, flip=False)
    new_motion, new_waves, new_counts, _ = augment(motion, waves, counts, mosaics, torch.Generator().manual_seed(3))
    assert set(new_counts.tolist()) <= {1.0, 2.0, 3.0} and len(set(new_counts.tolist())) > 1
    # every clip's wave is ones at 0 dB: a mosaic's wave is the number of clips in it, its count
    assert torch.equal(new_waves, new_counts[:, None].expand_as(new_waves))
    for i in range(8):  # each placed clip leaves a shrunk copy of its block; cells do not overlap at scale 0.5
        assert new_motion[i].gt(0).sum() > 0 and new_motion[i].gt(0).sum() <= new_counts[i] * motion[0].gt(0).sum()
    again = augment(motion, waves, counts, mosaics, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(again, (new_motion, new_waves, new_counts)))
    lean = augment(motion, waves, counts, derive(mosaics, {"max_mosaic_count": 1}), torch.Generator().manual_seed(3))
    assert lean[2].eq(1).all()  # a clip that would pass max_mosaic_count is left out


def test_mosaics_from_a_pool_take_its_clips():
    motion, waves, counts = _batch([1.0] * 4)
    pool_motion, pool_waves, _ = _batch([2.0] * 6)
    pool_motion = pool_motion * 0 + 50.0  # pool clips are flat and bright, the batch's a block of 1..4
    pool = (pool_motion, pool_waves * 2, torch.full((6,), 2.0))
    mosaics = CountingAugment(mosaic=1.0, gain_db=0.0, max_mosaic_count=6, flip=False)
    new_motion, new_waves, new_counts, _ = augment(
        motion, waves, counts, mosaics, torch.Generator().manual_seed(0), pool=pool
    )
    assert set(new_counts.tolist()) <= {2.0, 4.0, 6.0}  # only pool clips, two sources each
    assert torch.equal(new_waves, new_counts[:, None].expand_as(new_waves))  # each pool wave is 2s at 0 dB
    assert set(new_motion.unique().tolist()) <= {0.0, 50.0}  # none of the batch's own blocks


def test_zoom_and_flip_keep_counts_and_sound():
    motion, waves, counts = _batch([1, 2, 3, 4])
    moved = CountingAugment(mosaic=0.0, zoom_min=0.5, flip=True)
    new_motion, new_waves, new_counts, _ = augment(motion, waves, counts, moved, torch.Generator().manual_seed(1))
    assert torch.equal(new_counts, counts) and torch.equal(new_waves, waves)
    assert not torch.equal(new_motion, motion)
    for i in range(4):  # shrinking (area-averaged) and mirroring: no new values above the block's, less mass
        assert 0 < new_motion[i].max() <= i + 1 + 1e-5
        assert new_motion[i].sum() <= motion[i].sum() + 1e-3


def test_frames_move_with_the_motion_map_and_draw_nothing_more():
    """Frames (the visual stream) are zoomed, flipped and placed in mosaics where the motion map is, from the same
    draws: a batch with frames augments its motion, sound and counts exactly as one without."""
    motion, waves, counts = _batch([1.0, 2.0, 1.0, 1.0, 2.0, 1.0])
    frames = motion.expand(-1, 3, -1, -1)
    moved = CountingAugment(mosaic=0.0, zoom_min=0.5, flip=True)
    new_motion, _, _, new_frames = augment(
        motion, waves, counts, moved, torch.Generator().manual_seed(1), frames=frames
    )
    assert not torch.equal(new_motion, motion) and torch.equal(new_frames, new_motion.expand(-1, 3, -1, -1))
    mosaics = CountingAugment(mosaic=1.0, gain_db=1.0, max_mosaic_count=4)
    bare = augment(motion, waves, counts, mosaics, torch.Generator().manual_seed(3))
    both = augment(motion, waves, counts, mosaics, torch.Generator().manual_seed(3), frames=frames)
    alone = augment(None, waves, counts, mosaics, torch.Generator().manual_seed(3), frames=frames)
    assert all(torch.equal(a, b) for a, b in zip(bare[:3], both[:3]))
    assert torch.equal(alone[1], bare[1]) and torch.equal(alone[2], bare[2]) and torch.equal(alone[3], both[3])
    assert not torch.equal(both[3], frames) and both[3].shape == frames.shape
    with pytest.raises(ValueError, match="pool has none"):
        augment(None, waves, counts, mosaics, pool=(None, waves, counts), frames=frames)


def test_paper_counter_is_audiovisual_trains_and_predicts(world_data, tmp_path):
    """profile=paper: CAVL's audiovisual counter (the vision and audio ResNet-18s on the window's frame and
    log-mel), from scratch, trains on the tiny world and counts."""
    tiny = [
        "profile=paper",
        "profiles.paper.backbone_width=4",
        "profiles.paper.image_size=32",
        "profiles.paper.batch_size=4",
        "profiles.paper.max_steps_per_epoch=2",
        "shards.workers=0",
        "train.progress=false",
        "train.log_every=1",
        "counting.epochs.paper=1",
        "counting.window_s=2.0",
    ]
    params = load_params("params.yaml", tiny)
    assert params.counting.streams.get("paper") == ["visual", "audio"] and params.counting.members.get("paper") == 1
    assert not params.counting.augment.apply.get("paper")  # the paper describes no augmentation
    assert "counting" not in params.pretrain.methods.get("paper")  # no pre-trained checkpoint needed
    assert not counter_shards(params).localization.motion  # no motion maps decoded for it
    counting = method("counting")
    result = train(counting.recipe(params, world_data), params, tmp_path / "ckpt", tmp_path / "live")
    losses = [row["loss"] for row in result.history if "loss" in row]
    assert losses and all(math.isfinite(v) for v in losses)
    model = result.model.eval()
    assert isinstance(model, Counter) and set(model.streams) == {"visual", "audio"} and len(model.members) == 1
    assert hasattr(model.members[0], "vision")
    ids, predicted, labelled, _ = count_split(model, world_data / "shards" / "clips", "test", params)
    assert len(ids) == len(predicted) == len(labelled) > 0 and np.all(predicted == np.round(predicted))
    batch = {"frame": torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8), "audio": torch.zeros(2, 32000)}
    counts = counting.tasks["counting"](model, batch)
    assert counts.shape == (2,) and torch.equal(counts, counts.round())


def test_counter_streams_and_motion_input():
    from avsep.features.presets import frontend_from_params

    frontend = frontend_from_params(load_params("params.yaml").features)
    motion = torch.rand(3, 1, 40, 40) * 50
    assert motion_input(motion, 32).shape == (3, 1, 32, 32)
    assert torch.allclose(motion_input(motion, 40), torch.log1p(motion))
    frames = torch.randint(0, 255, (3, 3, 40, 40), dtype=torch.uint8)
    for streams in (("motion",), ("audio",), ("motion", "audio"), ("visual", "audio"), ("visual",)):
        model = Counter(4, 32, streams, frontend).eval()
        inputs = model.inputs(motion, torch.zeros(3, 16000), frames)
        assert [x is None for x in inputs] == [s not in streams for s in ("motion", "audio", "visual")]
        assert inputs[2] is None or (inputs[2].shape == (3, 3, 32, 32) and inputs[2].abs().max() <= 1)
        assert model(*inputs).shape == (3,)
    with pytest.raises(ValueError, match="has no 'frame'"):
        Counter(4, 32, ("visual",), frontend).inputs(None, None, None)
    # counting.motion_size shrinks only the motion map: frames stay at the image size
    small = Counter(4, 32, ("motion", "visual"), frontend, motion_size=16).eval()
    assert [tuple(x.shape[-2:]) for x in small.inputs(motion, None, frames) if x is not None] == [(16, 16), (32, 32)]
    assert small(*small.inputs(motion, None, frames)).shape == (3,)
    params = load_params("params.yaml", ["counting.motion_size.demo=56"])
    assert (
        build(params).motion_size == 56
        and build(load_params("params.yaml")).motion_size == params.active_profile().image_size
    )
    with pytest.raises(ValueError, match="each stream at most once"):
        load_params("params.yaml", ["counting.streams=[motion, motion]"])
    with pytest.raises(ValueError, match=r"counting\.streams\.paper is empty"):
        load_params("params.yaml", ["counting.streams.paper=[]"])


def test_members_learn_apart_and_average():
    from avsep.features.presets import frontend_from_params

    torch.manual_seed(0)
    model = Counter(4, 32, ("motion",), frontend_from_params(load_params("params.yaml").features), members=3)
    motion = torch.rand(5, 1, 32, 32) * 30
    each = model(model.motion_input(motion), None, per_member=True)
    assert each.shape == (5, 3) and torch.allclose(model(model.motion_input(motion), None), each.mean(1))
    assert len({round(float(v), 6) for v in each[0].detach()}) == 3  # initialised apart
    batch = {"motion": motion, "labels": [["a"]] * 5, "n_sources": [1, 2, 3, 1, 2]}
    loss = counting_loss(model.eval(), batch, "round", 8)["loss"]
    alone = [poisson_count_loss(each[:, i], torch.tensor([1.0, 2, 3, 1, 2])) for i in range(3)]
    assert loss.item() == pytest.approx(float(sum(alone, torch.tensor(0.0)).detach()) / 3, rel=1e-5)
    loss.backward()  # a member's gradient is its own loss's (over the member count), not the average's
    member = Counter(4, 32, ("motion",), model.frontend, members=1)
    member.members[0].load_state_dict(model.members[1].state_dict())
    (poisson_count_loss(member(member.motion_input(motion), None), torch.tensor([1.0, 2, 3, 1, 2])) / 3).backward()
    trained, alone_member = model.members[1], member.members[0]
    assert isinstance(trained, CounterMember) and isinstance(alone_member, CounterMember)
    grad, alone_grad = trained.head.weight.grad, alone_member.head.weight.grad
    assert grad is not None and alone_grad is not None
    assert torch.allclose(grad, alone_grad, atol=1e-6)
    with pytest.raises(ValueError, match="members = 0"):
        Counter(4, 32, ("motion",), model.frontend, members=0)


def test_memory_batches_read_each_clip_once_and_draw_balanced(world_data):
    params = load_params("params.yaml", ["shards.workers=0"])
    shard_params = counter_shards(params)
    sets = [world_data / "shards" / "C1", world_data / "shards" / "C2"]
    batches = MemoryBatches(sets, "train", shard_params, 4, seed=0, keep=("motion", "audio"))
    sizes = [len(bank["key"]) for bank in batches.banks]
    assert min(sizes) > 0 and batches.steps == -(-max(sizes) // 2)
    # the bank holds the evaluation view's windows, clip by clip
    view = evaluation_view(str(sets[1]), "train", shard_params, view="localization", batch_size=4, seed=0)
    streamed = {
        k: (m, a) for b in make_loader(view, shard_params) for k, m, a in zip(b["key"], b["motion"], b["audio"])
    }
    bank = batches.banks[1]
    assert sorted(bank["key"]) == sorted(streamed) and len(set(bank["key"])) == len(bank["key"])
    for i, key in enumerate(bank["key"]):
        assert torch.equal(bank["motion"][i], streamed[key][0]) and torch.equal(bank["audio"][i], streamed[key][1])
    epoch = list(batches(3, 0, 1))
    assert len(epoch) == batches.steps
    for batch in epoch:  # two clips of each set, in order, with their counts
        assert batch["motion"].shape[0] == batch["audio"].shape[0] == len(batch["key"]) == 4
        assert [k in batches.banks[0]["key"] for k in batch["key"]] == [True, True, False, False]
    c1 = [k for batch in epoch for k in batch["key"][:2]]
    assert len(set(c1[: sizes[0]])) == min(sizes[0], len(c1))  # a set is walked through before it repeats
    keys = lambda e, r: [k for batch in batches(e, r, 2) for k in batch["key"]]  # noqa: E731
    assert keys(3, 0) == keys(3, 0) and keys(3, 0) != keys(4, 0) and keys(3, 0) != keys(3, 1)
    spared = MemoryBatches(sets, "train", shard_params, 4, seed=0, keep=("motion",), spares=40)
    drawn = [batch["spares"] for batch in spared(0, 0, 1)]
    assert all(len(s["key"]) == len(s["n_sources"]) == s["motion"].shape[0] == 40 for s in drawn)
    every = {k for bank in batches.banks for k in bank["key"]}
    seen = [k for s in drawn for k in s["key"]]
    assert set(seen) <= every and {k in batches.banks[1]["key"] for k in seen} == {True, False}  # both sets
    with pytest.raises(KeyError, match="'motion'"):  # motion maps only come with shards.localization.motion
        MemoryBatches(sets, "train", load_params("params.yaml", ["shards.workers=0"]).shards, 4, 0, ("motion",))
