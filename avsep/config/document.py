"""``params.yaml`` written from the schema: every key's value with its field description as a comment above it.

The schema's descriptions (``Field(description=...)``, or a section's class docstring) are the one place a
parameter is documented; ``avsep params --write params.yaml`` regenerates the commented file from them, and a
test fails when the committed file differs from that rendering. Keys come in schema order. A section is a block
of its own keys, except a small section marked ``yaml_inline`` (a value per profile, the clip counts of a split),
which is written on one line in YAML flow style like any other value.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from avsep.config.schema import Params

__all__ = ["REGENERATE", "describe", "render_params_yaml", "sections_of"]

WIDTH = 118  # characters of a generated line, comments included
REGENERATE = "avsep params --write params.yaml"


def describe(field: FieldInfo) -> str:
    """The documentation of ``field``: its description, else (for a section) the first paragraph of its class."""
    if field.description:
        return " ".join(field.description.split())
    section = _section_type(field)
    if section is not None and section.__doc__:
        return " ".join(section.__doc__.strip().split("\n\n")[0].split())
    return ""


def sections_of(model: type[BaseModel] = Params) -> list[type[BaseModel]]:
    """Every section class reachable from ``model`` (itself first), each once, in schema order."""
    found: list[type[BaseModel]] = [model]
    for section in found:
        for field in section.model_fields.values():
            child = _section_type(field)
            if child is not None and child not in found:
                found.append(child)
    return found


def render_params_yaml(values: Mapping[str, Any], model: type[BaseModel] = Params) -> str:
    """The commented YAML of ``values`` (a tree of plain values keyed like ``params.yaml``), in ``model``'s order.

    Keys absent from ``values`` are left out (nothing is filled in from defaults); a key the schema does not know
    is a ``KeyError`` naming its dotted path. ``yaml.safe_load`` of the result gives ``values`` back.
    """
    lines = [f"# {line}".rstrip() for line in _wrap(_header(model), 0)] + [""]
    lines.extend(_block(model, values, depth=0, path=""))
    return "\n".join(lines) + "\n"


def _header(model: type[BaseModel]) -> str:
    doc = " ".join((model.__doc__ or "").split())
    return (
        f"{doc} Generated from the schema's descriptions (avsep/config/) by `{REGENERATE}`: edit values here, "
        "descriptions there."
    )


def _block(model: type[BaseModel], values: Mapping[str, Any], depth: int, path: str) -> list[str]:
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    unknown = [key for key in values if key not in fields]
    if unknown:
        raise KeyError(f"{path + '.' if path else ''}{unknown[0]}: not a key of {model.__name__}")
    indent = "  " * depth
    lines: list[str] = []
    for key, field in fields.items():
        if key not in values:
            continue
        value = values[key]
        section = _section_type(field)
        nested = section is not None and not getattr(section, "yaml_inline", False) and isinstance(value, Mapping)
        if depth == 0 and nested and lines:
            lines.append("")
        lines.extend(f"{indent}# {line}" for line in _wrap(describe(field), len(indent)))
        if section is not None and nested:
            lines.append(f"{indent}{_scalar(key)}:")
            lines.extend(_block(section, value, depth + 1, f"{path}.{key}" if path else key))
        else:
            lines.extend(_value_lines(key, value, indent))
    return lines


def _value_lines(key: str, value: Any, indent: str) -> list[str]:
    """``key: value`` on one line when it fits, else a mapping as one line per entry (lists stay in flow style)."""
    line = f"{indent}{_scalar(key)}: {_flow(value)}"
    if len(line) <= WIDTH or not isinstance(value, Mapping) or not value:
        return [line]
    out = [f"{indent}{_scalar(key)}:"]
    for sub, item in value.items():
        out.extend(_value_lines(sub, item, indent + "  "))
    return out


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _scalar(key: str) -> str:
    return _flow(key)


def _wrap(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, width=WIDTH - indent - 2, break_long_words=False, break_on_hyphens=False) or []


def _section_type(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
