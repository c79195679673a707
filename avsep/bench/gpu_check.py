"""The one JSON of ``scripts/gpu-check``: its ``avsep bench train`` and ``avsep bench loader`` results, joined.

``python -m avsep.bench.gpu_check --results DIR --out FILE [--note TEXT] [--seconds S]`` reads every
``train-MODEL.json`` and ``loader*.json`` in ``DIR`` (written by the benchmarks, each with its machine facts)
and writes ``FILE`` with the card, the date, the commit and one row per method: seconds per step and samples/s
with the frames decoded in the loader workers (``shards.decode_device`` null) and on the step's device, and
their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from avsep.io import atomic_write_text


def commit() -> str:
    """The checked-out commit (``+dirty`` when the tree has changes), or ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.strip() + ("+dirty" if dirty.stdout.strip() else "")


def card() -> str:
    """The GPU's name, or ``cpu`` when CUDA is absent."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def method_rows(results: Path) -> list[dict]:
    """One row per ``train-MODEL.json``: the configured run (decode in the workers) and its ``--against``
    alternative (decode on the step's device), seconds per step and samples/s of each, and their ratio."""
    rows = []
    for path in sorted(results.glob("train-*.json")):
        doc = json.loads(path.read_text())
        first = doc["rows"][0]
        row = {
            "model": first["model"],
            "stage": first["stage"],
            "device": first["device"],
            "batch_size": first["batch_size"],
            "s_per_step_workers": first["s_per_step"],
            "samples_per_s_workers": first["samples_per_s"],
        }
        if len(doc["rows"]) > 1:
            other = doc["rows"][1]
            row.update(
                {
                    "against": other.get("variant"),
                    "s_per_step_step_decode": other["s_per_step"],
                    "samples_per_s_step_decode": other["samples_per_s"],
                    "ratio_step_decode_over_workers": other["samples_per_s"] / first["samples_per_s"],
                }
            )
        rows.append(row)
    return rows


def combine(results: Path, note: str = "", seconds: float | None = None) -> dict:
    """The gpu-check document of the benchmark results in ``results``; ValueError when there are none."""
    loaders = {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("loader*.json"))}
    methods = method_rows(results)
    failed = sorted(path.stem for path in results.glob("*.failed"))
    if not methods and not loaders:
        raise ValueError(f"{results}: no train-*.json or loader*.json benchmark results")
    return {
        "benchmark": "gpu-check",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "card": card(),
        "commit": commit(),
        "note": note,
        "seconds": seconds,
        "methods": methods,
        "failed": failed,
        "loader": {name: {"summary": doc["summary"], "rows": doc["rows"]} for name, doc in loaders.items()},
        "machine": next(iter(loaders.values()))["machine"] if loaders else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avsep.bench.gpu_check", description=__doc__)
    parser.add_argument("--results", type=Path, required=True, help="folder of the benchmarks' JSON results")
    parser.add_argument("--out", type=Path, required=True, help="the JSON to write")
    parser.add_argument("--note", default="", help="how the check was run (its options)")
    parser.add_argument("--seconds", type=float, default=None, help="wall-clock seconds of the whole check")
    args = parser.parse_args(argv)
    doc = combine(args.results, args.note, args.seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(doc, indent=2) + "\n")
    for row in doc["methods"]:
        ratio = row.get("ratio_step_decode_over_workers")
        print(
            f"{row['model']:>11} {row['stage']:>8}: {row['s_per_step_workers']:.3f} s/step decoding in workers"
            + (f", {row['s_per_step_step_decode']:.3f} decoding at the step ({ratio:.2f}x)" if ratio else "")
        )
    for name in doc["failed"]:
        print(f"{name}: failed (its log is beside the results)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
