"""Typed parameters loaded from ``params.yaml``.

One schema (:class:`avsep.config.schema.Params`) knows every knob; this module loads the YAML file,
applies ``--set a.b=value`` overrides and validates the result. An error names the key and the bad value::

    ParamsError: params.yaml: world.counts.train.solo = -3: Input should be greater than or equal to 0

Usage::

    params = load_params("params.yaml", overrides=["world.seed=7"])
    params.world.seed  # -> 7
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from avsep.config.schema import Params, frame_size

__all__ = [
    "DEFAULT_PARAMS",
    "Params",
    "ParamsError",
    "derive",
    "frame_size",
    "load_params",
    "load_tree",
    "params_hash",
    "parse_override",
    "with_overrides",
]

Model = TypeVar("Model", bound=BaseModel)

DEFAULT_PARAMS = Path("params.yaml")


class ParamsError(ValueError):
    """A parameter file or override is invalid; the message names the file, key and value."""


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into ``(["a", "b", "c"], value)``; the value is parsed as YAML."""
    if "=" not in text:
        raise ParamsError(f"--set {text!r}: expected KEY=VALUE, e.g. world.seed=3")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ParamsError(f"--set {text!r}: empty key segment in {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ParamsError(f"--set {text!r}: value is not valid YAML ({exc.__class__.__name__})") from None
    return key.split("."), value


def _apply(tree: dict, path: list[str], value: Any, origin: str) -> None:
    node = tree
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise ParamsError(f"{origin}: {where} is a value, not a section; cannot set {'.'.join(path)}")
        node = child
    node[path[-1]] = value


def _lookup(tree: Any, loc: Iterable[Any]) -> Any:
    node = tree
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return "<missing>"
    return node


def _format_errors(exc: ValidationError, tree: dict, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = [part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        key = ".".join(str(part) for part in loc) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"{origin}: {key}: unknown key")
            continue
        value = err.get("input", _lookup(tree, loc))
        lines.append(f"{origin}: {key} = {value!r}: {err['msg']}")
    return "\n".join(lines)


def load_params(path: str | Path | None = DEFAULT_PARAMS, overrides: Iterable[str] = ()) -> Params:
    """Load, override and validate parameters.

    ``path=None`` starts from the schema's defaults (used by tests that build tiny worlds).
    Raises :class:`ParamsError` naming the file, key and bad value.
    """
    tree, origin = _read_tree(path, overrides)
    return _validated(Params, tree, origin)


def load_tree(path: str | Path | None = DEFAULT_PARAMS, overrides: Iterable[str] = ()) -> dict:
    """The plain values of ``path`` with ``overrides`` applied, as written (no defaults filled in), once they
    validate; what ``avsep params --write`` renders. Raises :class:`ParamsError` like :func:`load_params`."""
    tree, origin = _read_tree(path, overrides)
    _validated(Params, tree, origin)
    return tree


def _read_tree(path: str | Path | None, overrides: Iterable[str]) -> tuple[dict, str]:
    """The YAML tree of ``path`` (empty for None) with ``overrides`` applied, not validated, and its origin."""
    origin = str(path) if path is not None else "<defaults>"
    tree: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ParamsError(f"{path}: parameter file not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ParamsError(f"{path}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ParamsError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
        tree = loaded
    for text in overrides:
        keys, value = parse_override(text)
        _apply(tree, keys, value, f"--set {text}")
    return tree, origin


def with_overrides(params: Params, overrides: Iterable[str]) -> Params:
    """``params`` with ``--set``-style ``overrides`` applied and validated again (ParamsError names a bad one)."""
    return _overridden(params.model_dump(), overrides, "<overridden params>")


def derive(params: Model, updates: Mapping[str, Any]) -> Model:
    """A validated copy of ``params`` (``Params`` or any of its sections) with dotted keys replaced.

    The one way code derives parameters from others: ``derive(params, {"shards.workers": 0})`` or, on a
    section, ``derive(params.shards, {"localization.window_s": 2.0})``. Unlike ``model_copy(update=...)`` the
    result is validated, so a derived value outside the schema is a :class:`ParamsError` naming the key.
    """
    tree = params.model_dump()
    for dotted, value in updates.items():
        _apply(tree, dotted.split("."), value, f"derived {dotted}")
    return _validated(type(params), tree, f"<derived {type(params).__name__}>")


def _overridden(tree: dict, overrides: Iterable[str], origin: str) -> Params:
    """``tree`` (changed in place) with ``overrides`` applied, validated; errors name ``origin``."""
    for text in overrides:
        keys, value = parse_override(text)
        _apply(tree, keys, value, f"--set {text}")
    return _validated(Params, tree, origin)


def _validated(model: type[Model], tree: dict, origin: str) -> Model:
    try:
        return model.model_validate(tree)
    except ValidationError as exc:
        raise ParamsError(_format_errors(exc, tree, origin)) from None


def params_hash(params: Params, section: str | None = None) -> str:
    """A short, stable hash of all parameters (or of one top-level section)."""
    data = params.model_dump(mode="json")
    if section is not None:
        data = data[section]
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
