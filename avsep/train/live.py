"""DVCLive logging of a training run: per-step and per-epoch metrics that ``dvc plots show`` draws.

Only rank 0 writes; on other ranks :class:`TrainLog` does nothing. The x axis is the run's global optimizer
step, continuous across stages. Each stage gets its own curves: ``{stage}/train/{key}`` (mean over the steps
since the previous row), ``{stage}/lr``, ``{stage}/epoch/{key}`` (epoch means), ``{stage}/eval/{key}`` (what the
stage's ``after_epoch`` returned) and ``{stage}/epochs_done``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from avsep.io import atomic_write_text

log = logging.getLogger(__name__)


class TrainLog:
    """A DVCLive ``Live`` in ``directory`` (with its own ``dvc.yaml`` there unless ``dvcyaml`` says otherwise).

    ``resume=True`` keeps the earlier rows up to ``resume_step`` and drops the ones a killed run wrote after
    its last checkpoint, which the resumed run writes again.
    """

    def __init__(
        self,
        directory: str | Path,
        enabled: bool,
        resume: bool = False,
        resume_step: int = 0,
        dvcyaml: str | Path | None = "auto",
    ):
        self.enabled = enabled
        self.live = None
        if not enabled:
            return
        from dvclive import Live

        directory = Path(directory)
        if resume:
            drop_rows_after(directory / "plots" / "metrics", resume_step)
        if dvcyaml == "auto":
            dvcyaml = directory / "dvc.yaml"
        self.live = Live(
            dir=str(directory),
            resume=resume,
            save_dvc_exp=False,
            report=None,
            dvcyaml=str(dvcyaml) if dvcyaml is not None else None,
        )

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Append one row per metric at ``step`` and refresh ``metrics.json``."""
        if self.live is None or not metrics:
            return
        self.live.step = step
        for name, value in metrics.items():
            self.live.log_metric(name, float(value))
        self.live.make_summary()

    def close(self) -> None:
        """Write the summary and ``dvc.yaml``; call once at the end of the run."""
        if self.live is not None:
            self.live.end()
            self.live = None


def drop_rows_after(metrics_dir: Path, step: int) -> None:
    """Rewrite every DVCLive ``.tsv`` under ``metrics_dir`` without the rows whose step is beyond ``step``."""
    if not metrics_dir.is_dir():
        return
    for tsv in sorted(metrics_dir.rglob("*.tsv")):
        with open(tsv, encoding="utf-8", newline="") as fh:
            rows: list[dict[str, Any]] = list(csv.DictReader(fh, delimiter="\t"))
            fields = list(rows[0]) if rows else None
        kept = [row for row in rows if int(row["step"]) <= step]
        if len(kept) == len(rows) or fields is None:
            continue
        log.info("%s: dropping %d row(s) logged after step %d by the interrupted run", tsv, len(rows) - len(kept), step)
        lines = ["\t".join(fields)] + ["\t".join(row[f] for f in fields) for row in kept]
        atomic_write_text(tsv, "\n".join(lines) + "\n")
