"""The record every check returns: a value beside its threshold, whether it passed, and what that means."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One check of one model. ``check``: its name (``overfit``, ``probe-visual``, ...); ``value`` is compared
    with ``threshold`` as ``meaning`` says; ``details``: the numbers behind it (first and last loss, chance, ...)."""

    check: str
    value: float
    threshold: float
    passed: bool
    meaning: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
