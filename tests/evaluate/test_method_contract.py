"""Evaluation reaches methods only through the registry and the Method contract, and its modules form no import
circle: read from the source with ``ast`` (imports inside functions too), so a lazy import cannot hide."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVALUATE = ROOT / "avsep" / "evaluate"
ALLOWED_MODELS = {"avsep.models", "avsep.models.method"}


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of the modules (or module members) ``path`` (or ``source`` read as that file) imports at
    any depth of its code."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            # "from avsep.models import x" may name a submodule x: count both the package and the member
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def model_imports(path: Path, source: str | None = None) -> set[str]:
    """The ``avsep.models`` modules ``path`` imports beyond the registry and the Method contract; a member of
    an allowed module (``avsep.models.method`` the function, ``avsep.models.CLASSES``) is not a module."""
    out = set()
    for name in imports_of(path, source):
        if name in ALLOWED_MODELS or not name.startswith("avsep.models."):
            continue
        if name.rpartition(".")[0] in ALLOWED_MODELS and not _is_module(name):
            continue
        out.add(name)
    return out


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_evaluate_imports_no_method_internals():
    found = {str(p.relative_to(ROOT)): sorted(model_imports(p)) for p in sorted(EVALUATE.rglob("*.py"))}
    assert {file: names for file, names in found.items() if names} == {}, (
        "avsep/evaluate reaches a method's modules; expose what it needs through its METHOD instead"
    )


def test_the_check_sees_lazy_relative_and_member_imports():
    # a method module imported inside a function, a submodule named as a member of avsep.models, and a relative
    # import from avsep/evaluate; the registry, CLASSES and the Method contract pass
    source = (
        "def f():\n    from avsep.models.separation.recipe import stage_variants\n"
        "from avsep.models import separation, CLASSES, method\n"
        "from ..models.dmc import network\n"
        "from avsep.models.method import Method\n"
    )
    found = model_imports(EVALUATE / "runner.py", source)
    assert found == {
        "avsep.models.separation.recipe",
        "avsep.models.separation.recipe.stage_variants",
        "avsep.models.separation",
        "avsep.models.dmc",
        "avsep.models.dmc.network",
    }


def test_evaluate_modules_import_no_circle():
    graph = {}
    for path in sorted(EVALUATE.glob("*.py")):
        name = "avsep.evaluate." + path.stem if path.stem != "__init__" else "avsep.evaluate"
        graph[name] = {n for n in imports_of(path) if n.startswith("avsep.evaluate.") and _is_module(n)} - {name}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph.get(start, ())
        )

    circles = sorted(name for name in graph if reaches(name, name, {name}))
    assert not circles, f"avsep/evaluate modules import each other in a circle: {circles}"
