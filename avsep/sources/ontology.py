"""The AudioSet ontology (``ontology.json``): nodes, their parents and children, and restrictions.

The file is a list of nodes ``{id, name, description, citation_uri, positive_examples, child_ids,
restrictions}``; ``restrictions`` may hold ``"abstract"`` and/or ``"blacklist"``. A node can have several
parents, so the hierarchy is a DAG; walks keep a visited set, so even a (malformed) cycle terminates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from avsep.sources.errors import IndexFormatError
from avsep.sources.index_text import read_index_json

EXCLUDED_RESTRICTIONS = frozenset({"abstract", "blacklist"})


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    child_ids: tuple[str, ...]
    restrictions: frozenset[str]


class Ontology:
    """Lookups over the ontology DAG; labels are MIDs (``/m/042v_gx``) or unique names (``Acoustic guitar``)."""

    def __init__(self, nodes: Iterable[dict[str, Any]], origin: str = "<ontology>"):
        self.origin = origin
        self.nodes: dict[str, Node] = {}
        for position, raw in enumerate(nodes):
            where = f"[{position}]"
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("name"), str):
                raise IndexFormatError(origin, where, "node needs string 'id' and 'name'")
            children, restrictions = raw.get("child_ids", []), raw.get("restrictions", [])
            if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
                raise IndexFormatError(origin, where, f"{raw['id']}: child_ids must be a list of strings")
            if not isinstance(restrictions, list):
                raise IndexFormatError(origin, where, f"{raw['id']}: restrictions must be a list")
            if raw["id"] in self.nodes:
                raise IndexFormatError(origin, where, f"duplicate node id {raw['id']!r}")
            self.nodes[raw["id"]] = Node(raw["id"], raw["name"], tuple(children), frozenset(restrictions))
        self._parents: dict[str, set[str]] = {mid: set() for mid in self.nodes}
        for node in self.nodes.values():
            for child in node.child_ids:
                if child not in self.nodes:
                    raise IndexFormatError(origin, node.id, f"child id {child!r} is not a node")
                self._parents[child].add(node.id)
        names: dict[str, list[str]] = {}
        for node in self.nodes.values():
            names.setdefault(node.name, []).append(node.id)
        self._by_name = names
        self.ancestors = cache(self._ancestors)
        self.descendants = cache(self._descendants)

    @classmethod
    def load(cls, path: str | Path) -> Ontology:
        data = read_index_json(path)
        if not isinstance(data, list):
            raise IndexFormatError(path, None, "ontology must be a JSON list of nodes")
        return cls(data, origin=str(path))

    def __contains__(self, mid: str) -> bool:
        return mid in self.nodes

    def resolve(self, label: str) -> str:
        """The MID of a MID or a node name; KeyError if unknown or if the name is ambiguous."""
        if label in self.nodes:
            return label
        mids = self._by_name.get(label, [])
        if len(mids) != 1:
            reason = "is not a node id or name" if not mids else f"names {len(mids)} nodes ({', '.join(mids)})"
            raise KeyError(f"{self.origin}: label {label[:80]!r} {reason}")
        return mids[0]

    def name(self, mid: str) -> str:
        return self.nodes[mid].name

    def is_excluded(self, mid: str) -> bool:
        """Abstract or blacklisted: not a sound a clip can contain as such."""
        return bool(self.nodes[mid].restrictions & EXCLUDED_RESTRICTIONS)

    def _ancestors(self, mid: str) -> frozenset[str]:
        """Every node from which ``mid`` is reachable via child_ids (``mid`` itself excluded)."""
        return self._walk(mid, lambda m: self._parents[m])

    def _descendants(self, mid: str) -> frozenset[str]:
        return self._walk(mid, lambda m: self.nodes[m].child_ids)

    @staticmethod
    def _walk(start: str, step) -> frozenset[str]:
        seen: set[str] = set()
        stack = list(step(start))
        while stack:
            mid = stack.pop()
            if mid not in seen:
                seen.add(mid)
                stack.extend(step(mid))
        seen.discard(start)
        return frozenset(seen)

    def vocabulary_mids(self, vocabulary: Iterable[str], descendants: bool = False) -> frozenset[str] | None:
        """MIDs named by a vocabulary (names or MIDs), plus their descendants if asked; None if empty (= all)."""
        entries = list(vocabulary)
        if not entries:
            return None
        mids: set[str] = set()
        for entry in entries:
            try:
                mid = self.resolve(entry)
            except KeyError as exc:
                raise ValueError(f"dataset.vocabulary: {exc.args[0]}") from None
            mids.add(mid)
            if descendants:
                mids |= self.descendants(mid)
        return frozenset(mids)
