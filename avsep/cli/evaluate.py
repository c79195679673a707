"""``avsep evaluate MODEL``: score a trained model (or a baseline) on a split -> reports/metrics/MODEL.json.

Under ``torchrun --nproc_per_node N`` the ranks share the split and rank 0 writes the one document (and prints
it); the others print nothing.
"""

from __future__ import annotations

_SHOWN = ("ciou@0.3", "ciou@0.5", "auc", "nsa", "nsa_visible", "accuracy", "mae", "sdr", "n")


def register(sub, common) -> None:
    p = sub.add_parser(
        "evaluate", parents=[common], help="evaluate a model or baseline on a split: metrics JSON and heatmap overlays"
    )
    p.add_argument("model", help="method name, e.g. whole_image, centre_prior, random, avc, attention, sop, dsol")
    p.add_argument("--split", default="test", help="split of the shard sets (default: test)")
    p.add_argument("--data", default=None, help="build folder holding shards/ (default: params build.out_dir)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="weights to evaluate: a checkpoint file, or a folder of `avsep train --checkpoints` (its last "
        "stage is read) (default: DATA/models/MODEL/<last stage>.pt, as avsep train wrote)",
    )
    p.add_argument("--metrics-dir", default=None, help="where MODEL.json goes (default: report.metrics_dir)")
    p.add_argument("--figures-dir", default=None, help="overlays go to DIR/MODEL/ (default: report.figures_dir)")
    p.add_argument("--overlays", type=int, default=4, help="overlay PNGs per subset (default 4; 0: none)")
    p.add_argument("--batch-size", type=int, default=None, help="clips per model call (default: evaluate.batch_size)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: shards.workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--variant",
        default=None,
        help="name of an ablation's configuration, e.g. lambda=0.8: writes MODEL.VARIANT.json, a row of "
        "the report's ablation tables",
    )
    p.add_argument(
        "--boxes",
        default=None,
        help="score against a box-annotated test set instead of the build's own ground truth: a VGG-SS json "
        "(vggss.json) or a SoundNet-Flickr Annotations/ folder; joined to samples by clip key; writes "
        "MODEL.vggss.json / MODEL.flickr.json with the whole-image and centre-prior baselines beside the model",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from avsep.cli import CommandError, params_from, require_shards
    from avsep.models import METHODS

    if args.model not in METHODS:  # before loading params or torch: the name is the likeliest typo
        raise CommandError(f"unknown model {args.model!r}; known: {', '.join(sorted(METHODS))}")
    params = params_from(args)
    if args.overlays < 0 or (args.batch_size is not None and args.batch_size < 1):
        print("avsep evaluate: --overlays must be >= 0 and --batch-size >= 1", file=sys.stderr)
        return 2
    data = Path(args.data or params.build.out_dir)
    require_shards(data, params.shards.root)
    boxes = None
    if args.boxes is not None:
        from avsep.sources.boxes import load_boxes
        from avsep.sources.errors import IndexFormatError

        try:
            boxes = load_boxes(args.boxes)
        except IndexFormatError as exc:
            print(f"avsep evaluate: --boxes: {exc}", file=sys.stderr)
            return 2
    from avsep.evaluate.runner import evaluate_model
    from avsep.shards.reader import ShardSetError
    from avsep.train import CheckpointError, shutdown

    try:
        doc = evaluate_model(
            args.model,
            params,
            data,
            split=args.split,
            checkpoint=args.checkpoint,
            metrics_dir=args.metrics_dir,
            figures_dir=args.figures_dir,
            batch_size=args.batch_size,
            workers=args.workers,
            overlays=args.overlays,
            progress=not args.no_progress,
            variant=args.variant,
            boxes=boxes,
        )
    except (KeyError, ValueError, CheckpointError, ShardSetError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"avsep evaluate: {message}", file=sys.stderr)
        return 2
    finally:
        shutdown()  # leave the torchrun process group, if evaluate_model joined one
    for key, entry in doc.get("protocols", {}).items():
        shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in entry.items() if k in _SHOWN}
        print(f"{args.model} {key}: {shown}")
    for baseline, entries in doc.get("baselines", {}).items():
        for key, entry in entries.items():
            shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in entry.items() if k in _SHOWN}
            print(f"  beside it, {baseline} {key}: {shown}")
    return 0
