"""Writes a benchmark result as ``reports/benchmarks/NAME.json`` and ``NAME.md``."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from avsep.io import atomic_write_text

DEFAULT_DIR = Path("reports/benchmarks")


def machine() -> dict:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
    }


def markdown_table(rows: list[dict]) -> str:
    """A GitHub markdown table from a list of flat dicts (columns from the first row; ``None`` is left blank)."""
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else "" if v is None else str(v)  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in cols) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_result(name: str, result: dict, out_dir: str | Path = DEFAULT_DIR) -> tuple[Path, Path]:
    """Write ``result`` (must hold ``rows`` and ``summary``) with machine facts; return the two paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    atomic_write_text(json_path, json.dumps(doc, indent=2, default=str) + "\n")
    summary = "\n".join(
        f"- **{k}**: {v:.4g}" if isinstance(v, float) else f"- **{k}**: {v}"
        for k, v in result.get("summary", {}).items()
    )
    md = (
        f"# Benchmark: {name}\n\n{result.get('description', '')}\n\n{summary}\n\n"
        f"{markdown_table(result.get('rows', []))}\nMachine: {doc['machine']}\n"
    )
    atomic_write_text(md_path, md)
    return json_path, md_path
