import numpy as np
import pytest

from avsep.dataset.cocktail import (
    Clip,
    ClipInfo,
    MixingError,
    encode_cocktail,
    encode_nmix,
    plan_cocktails,
    plan_nmix,
    render_cocktail,
    render_nmix,
)

RATE, FPS, SECONDS, SIZE = 8000, 4.0, 3, 16
CLASSES = ["accordion", "cello", "flute", "tuba", "violin"]


def _clips() -> dict[str, Clip]:
    """Two clips per class; each clip's frames are one flat colour, its audio random; odd clips have boxes."""
    clips = {}
    for c, label in enumerate(CLASSES):
        for j in range(2):
            i = 2 * c + j
            rng = np.random.default_rng(i)
            frames = np.full((int(SECONDS * FPS), SIZE, SIZE, 3), 20 * i, np.uint8)
            boxes = np.tile([4.0, 2.0, 12.0, 10.0], (len(frames), 1)) if j else None
            key = f"{label}-{j}"
            clips[key] = Clip(
                key, label, frames, FPS, rng.uniform(-0.5, 0.5, SECONDS * RATE).astype(np.float32), RATE, boxes
            )
    return clips


def _catalog(clips):
    return [ClipInfo(c.key, c.label, len(c.audio) / c.sample_rate) for c in clips.values()]


def test_cocktail_plans_are_deterministic_and_follow_dsol():
    clips = _clips()
    plans = plan_cocktails(_catalog(clips), 20, seed=7, split="train", jitter_s=0.05)
    assert plans == plan_cocktails(list(reversed(_catalog(clips))), 20, seed=7, split="train", jitter_s=0.05)
    assert plans != plan_cocktails(_catalog(clips), 20, seed=8, split="train", jitter_s=0.05)
    assert plans[:5] == plan_cocktails(_catalog(clips), 5, seed=7, split="train", jitter_s=0.05)
    for plan in plans:
        assert len({p.label for p in plan.parts}) == 4
        assert sum(p.sounding for p in plan.parts) == 2
        for part in plan.parts:
            assert part.second_s is not None  # a cocktail part starts on a whole second
            assert part.second_s == int(part.second_s) and 0 <= part.start_s <= SECONDS - 1
            assert abs(part.start_s - part.second_s) <= (0.05 + 1e-9 if part.sounding else 0)


def test_cocktail_render_tiles_frames_boxes_and_mixes_the_sounding_two():
    clips = _clips()
    plan = plan_cocktails(_catalog(clips), 3, seed=1, split="test")[2]
    out = render_cocktail(plan, clips.__getitem__, size=(32, 48))
    assert out.frames is not None and out.frames.shape == (1, 32, 48, 3)
    quads = out.meta["quadrants"]
    for q, (part, quad) in enumerate(zip(plan.parts, quads)):
        y0, x0 = (q // 2) * 16, (q % 2) * 24
        assert np.all(out.frames[0, y0 : y0 + 16, x0 : x0 + 24] == clips[part.clip_id].frames[0, 0, 0])
        if clips[part.clip_id].boxes is None:
            assert quad["box"] == [x0, y0, x0 + 24, y0 + 16]
        else:  # [4, 2, 12, 10] in a 16x16 frame, scaled by (24/16, 16/16) into the quadrant
            assert quad["box"] == [x0 + 6.0, y0 + 2.0, x0 + 18.0, y0 + 10.0]
        assert (quad["class"], quad["sounding"]) == (part.label, part.sounding)
    expected = (
        sum(
            clips[p.clip_id].audio[round(p.start_s * RATE) : round(p.start_s * RATE) + RATE]
            for p in plan.parts
            if p.sounding
        )
        / 2
    )
    assert np.allclose(out.audio, expected, atol=1e-6)
    assert out.meta["labels"] == sorted(p.label for p in plan.parts if p.sounding)
    members = encode_cocktail(out, jpeg_quality=90)
    assert sorted(members) == ["000.jpg", "json", "wav"]
    assert encode_cocktail(out, 90) == encode_cocktail(render_cocktail(plan, clips.__getitem__, size=(32, 48)), 90)


def test_cocktail_needs_four_classes():
    clips = {k: c for k, c in _clips().items() if c.label in CLASSES[:3]}
    with pytest.raises(MixingError, match=r"at least 4 different classes.*found 3"):
        plan_cocktails(_catalog(clips), 1, seed=0, split="train")


@pytest.mark.parametrize("n_mix", [2, 3])
def test_nmix_keeps_components_that_sum_to_the_mixture(n_mix):
    clips = _clips()
    plans = plan_nmix(_catalog(clips), n_mix, 4, seed=3, split="test", window_s=2.0)
    assert plans == plan_nmix(_catalog(clips), n_mix, 4, seed=3, split="test", window_s=2.0)
    for plan in plans:
        assert len({p.label for p in plan.parts}) == n_mix
        out = render_nmix(plan, clips.__getitem__, window_s=2.0)
        assert out.sources is not None and out.component_frames is not None
        assert out.sources.shape == (n_mix, 2 * RATE)
        assert np.allclose(out.audio, out.sources.sum(0), atol=1e-6)
        for source, part in zip(out.sources, plan.parts):  # Sound of Pixels: each source / N, then summed
            start = round(part.start_s * RATE)
            assert np.allclose(source, clips[part.clip_id].audio[start : start + 2 * RATE] / n_mix, atol=1e-7)
        assert all(len(f) == 8 for f in out.component_frames)  # 2 s at 4 fps
        members = encode_nmix(out, 90)
        assert {"mix.wav", "json", "src0.wav", f"src{n_mix - 1}.wav", "src0.000.jpg"} <= set(members)


def test_mismatched_sample_rates_are_refused():
    clips = _clips()
    plan = plan_nmix(_catalog(clips), 2, 1, seed=0, split="test", window_s=1.0)[0]
    other = clips[plan.parts[1].clip_id]
    clips[other.key] = Clip(other.key, other.label, other.frames, FPS, other.audio, 16000)
    with pytest.raises(MixingError, match="different sample rates"):
        render_nmix(plan, clips.__getitem__, window_s=1.0)
