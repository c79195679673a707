"""How hard is the world? NMF-MFCC on two-source mixtures and a motion-only counter, per realism preset.

    python scripts/world_realism.py --mixtures 40 --scenes 24 [--size 128] [--set world.effects.hard.KEY=V ...]

For each preset (``world.realism`` demo, then hard) it renders, in memory and without encoding:

- ``2 * mixtures`` solo clips of the test split; consecutive clips of different classes are mixed (their mono
  audio at 11.025 kHz, summed, as the dataset's two-source mixtures are) and separated by the NMF-MFCC
  baseline with the separation section's settings; SDR by ``evaluate.separation.backend`` (mixture SDR beside it);
- ``scenes`` k1..k4 scenes per k in the train split and as many in the test split; a motion-only counter
  (scikit-learn logistic regression) reads, per visible object (its ground-truth boxes), the mean absolute
  frame difference inside its box frame to frame (mean, std, max, share of frames above 2 grey levels),
  objects sorted by mean motion, absent ones zero; it is trained on train and scored on test. Chance (the
  most frequent test k) is printed beside it.

Prints a Markdown table and writes ``--out`` (JSON). Frames are ``--size`` pixels square (motion and its
statistics scale with the object, not the frame); everything else is the params file's world.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.signal

from avsep.config import derive, load_params
from avsep.config.world import CountTables, SceneCounts, SplitCounts, WorldParams
from avsep.metrics.separation import bss_eval, mixture_as_estimates
from avsep.models.separation.baselines import nmf_mfcc_estimates
from avsep.world.render import render_clip
from avsep.world.scene import clip_specs

SOP_RATE = 11025
MOTION_LEVEL = 2.0  # grey levels of mean frame difference that count as a moving frame
MAX_OBJECTS = 4


def _world(base: WorldParams, realism: str, counts: SplitCounts, size: int) -> WorldParams:
    return derive(
        base,
        {
            "realism": realism,
            "width": size,
            "height": size,
            "size_preset": "demo",
            "counts": CountTables(demo=counts).model_dump(),
        },
    )


def _mono_11k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    mono = audio.mean(0).astype(np.float64)
    return scipy.signal.resample_poly(mono, SOP_RATE, sample_rate)


def separation(world: WorldParams, params, n_mixtures: int, rng_seed: int = 0) -> dict:
    """Mean SDR (dB) of NMF-MFCC and of the mixture over ``n_mixtures`` two-source mixtures of solo clips."""
    specs = [s for s in clip_specs(world) if s.scene == "solo"]
    waves = [
        (s.classes[s.sounding.index(True)], _mono_11k(render_clip(s, world).audio, world.sample_rate)) for s in specs
    ]
    sep = params.separation
    nmf, mix_sdr = [], []
    for (name_a, a), (name_b, b) in zip(waves[0::2], waves[1::2]):
        if name_a == name_b:
            continue
        refs = np.stack([a, b])
        mixture = refs.sum(0)
        est = nmf_mfcc_estimates(
            mixture,
            refs,
            n_components=sep.nmf_components,
            n_mfcc=sep.nmf_mfcc,
            n_mels=sep.nmf_mels,
            iterations=sep.nmf_iterations,
            loss=sep.nmf_loss,
            seed=rng_seed,
        )
        backend = params.evaluate.separation.backend
        nmf.append(float(np.mean(bss_eval(refs, est, backend)[0])))
        mix_sdr.append(float(np.mean(bss_eval(refs, mixture_as_estimates(mixture, 2), backend)[0])))
        if len(nmf) == n_mixtures:
            break
    return {"mixtures": len(nmf), "nmf_mfcc_sdr": float(np.mean(nmf)), "mixture_sdr": float(np.mean(mix_sdr))}


def motion_features(frames: np.ndarray, annotation: dict) -> np.ndarray:
    """(4 * 4,) motion statistics of a clip's visible objects, most moving first; frames (T, H, W, 3) uint8."""
    grey = frames.astype(np.float32).mean(-1)
    diff = np.abs(np.diff(grey, axis=0))  # (T-1, H, W)
    rows = []
    for obj in annotation["objects"]:
        boxes = np.asarray(obj["boxes"])
        x0, y0 = boxes[:, :2].min(0)
        x1, y1 = boxes[:, 2:].max(0)
        energy = diff[:, y0:y1, x0:x1].reshape(len(diff), -1).mean(1)
        rows.append([energy.mean(), energy.std(), energy.max(), (energy > MOTION_LEVEL).mean()])
    rows.sort(key=lambda r: -r[0])
    rows += [[0.0] * 4] * (MAX_OBJECTS - len(rows))
    return np.asarray(rows, np.float64).ravel()


def counting(world: WorldParams) -> dict:
    """Accuracy of a motion-only logistic-regression counter on the test split's k1..k4 scenes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for spec in clip_specs(world):
        if spec.scene.startswith("k"):
            clip = render_clip(spec, world)
            data[spec.split][0].append(motion_features(clip.frames, clip.annotation))
            data[spec.split][1].append(spec.n_sources)
    (x_train, y_train), (x_test, y_test) = data["train"], data["test"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_train, y_train)
    accuracy = float(np.mean(model.predict(x_test) == np.asarray(y_test)))
    chance = float(np.bincount(y_test).max() / len(y_test))
    return {
        "scenes_train": len(y_train),
        "scenes_test": len(y_test),
        "motion_only_accuracy": accuracy,
        "chance": chance,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE (repeatable)")
    parser.add_argument("--mixtures", type=int, default=40, help="two-source mixtures per preset (default 40)")
    parser.add_argument("--scenes", type=int, default=24, help="k-scenes per k and split (default 24)")
    parser.add_argument("--size", type=int, default=128, help="frame width and height (default 128)")
    parser.add_argument("--presets", default="demo,hard", help="realism presets, comma-separated")
    parser.add_argument("--skip", choices=["separation", "counting"], default=None)
    parser.add_argument("--out", default=None, help="JSON file of the results")
    args = parser.parse_args(argv)
    params = load_params(args.params, args.overrides)
    solo = SplitCounts(test=SceneCounts(solo=2 * args.mixtures + 8))
    n = args.scenes
    scenes = SplitCounts(train=SceneCounts(k1=n, k2=n, k3=n, k4=n), test=SceneCounts(k1=n, k2=n, k3=n, k4=n))
    results = {}
    for realism in args.presets.split(","):
        start = time.perf_counter()
        row: dict = {}
        if args.skip != "separation":
            row |= separation(_world(params.world, realism, solo, args.size), params, args.mixtures)
        if args.skip != "counting":
            row |= counting(_world(params.world, realism, scenes, args.size))
        row["seconds"] = time.perf_counter() - start
        results[realism] = row
        print(realism, json.dumps(row), flush=True)
    print("\n| realism | NMF-MFCC SDR (dB) | mixture SDR (dB) | motion-only counter | chance |")
    print("| --- | --- | --- | --- | --- |")
    for realism, row in results.items():
        print(
            f"| {realism} | {row.get('nmf_mfcc_sdr', float('nan')):.2f} | {row.get('mixture_sdr', float('nan')):.2f} "
            f"| {row.get('motion_only_accuracy', float('nan')):.3f} | {row.get('chance', float('nan')):.3f} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
