"""The parameters a run uses: every per-profile value replaced by the active profile's.

A section whose only fields are ``paper`` and ``demo`` holding plain values (``lr: {paper: 1e-4, demo: 1e-3}``,
``ByProfile``) becomes the active profile's value; a section that holds whole sections per profile
(``profiles``, ``separation.paper``/``separation.demo``) keeps only the active profile's. The result renders
with :func:`avsep.config.document.render_params_yaml` like params.yaml itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from avsep.config.schema import Params

PROFILES = ("paper", "demo")


def resolved_tree(params: Params) -> dict[str, Any]:
    """Plain values (YAML keys, JSON types) of ``params`` as its active profile (``params.profile``) uses them."""
    return _resolve(params, params.profile)


def _resolve(model: BaseModel, profile: str) -> Any:
    fields = type(model).model_fields
    if set(fields) == set(PROFILES) and not any(isinstance(getattr(model, p), BaseModel) for p in PROFILES):
        return model.model_dump(mode="json")[profile]
    out: dict[str, Any] = {}
    for name, field in fields.items():
        if name in PROFILES and name != profile and set(PROFILES) <= set(fields):
            continue  # the other profile's whole section
        value = getattr(model, name)
        key = field.alias or name
        out[key] = _resolve(value, profile) if isinstance(value, BaseModel) else _plain(model, name)
    return out


def _plain(model: BaseModel, name: str) -> Any:
    return model.model_dump(mode="json", include={name}, by_alias=False)[name]
