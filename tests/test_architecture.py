"""The import rules of docs/architecture.md, read from the source with ``ast`` (imports inside functions too).

Every module of ``avsep/`` and ``pipelines/`` belongs to a layer and imports only from its own layer or lower;
a method package never imports another method's package; evaluation never imports a method's package; only
``avsep.cli`` (inside functions) imports ``pipelines``; and no two packages import each other, directly or
around a circle. Each failure names the importing file and line, the imported module and the rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from avsep.models import METHODS

ROOT = Path(__file__).resolve().parents[1]
TOP = ("avsep", "pipelines")

# (layer, name, module prefixes), low to high; a module is in the layer of its longest matching prefix.
LAYERS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (0, "foundation", ("avsep", "avsep.io", "avsep.config")),
    (1, "signal and training", ("avsep.media", "avsep.features", "avsep.metrics", "avsep.losses", "avsep.train")),
    (2, "data sources", ("avsep.world", "avsep.sources", "avsep.download")),
    (3, "shards", ("avsep.shards",)),
    (4, "dataset", ("avsep.dataset",)),
    (5, "models", ("avsep.models",)),
    (6, "evaluation", ("avsep.evaluate",)),
    (7, "experiments, report, bench, diagnose", ("avsep.experiments", "avsep.report", "avsep.bench", "avsep.diagnose")),
    (8, "orchestration", ("pipelines",)),
    (9, "application", ("avsep.cli", "avsep.__main__")),
)
# Modules of avsep.models that are not a method: the registry, the contract and the shared parts.
MODELS_SHARED = ("avsep.models", "avsep.models.method", "avsep.models.common")
# Method packages: avsep.models.<package> of every registered method (the baselines share one package).
METHOD_PACKAGES = frozenset(".".join(module.split(".")[:3]) for module in METHODS.values())


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    path: str  # file, relative to the repository root
    line: int
    target: str  # the deepest module of avsep/pipelines the statement names
    in_function: bool


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return (path / "__init__.py").is_file() or path.with_suffix(".py").is_file()


def deepest_module(name: str) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if is_module(".".join(parts[:end])):
            return ".".join(parts[:end])
    return None


def _function_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def imports_of(path: Path) -> list[Import]:
    """Every import of an avsep/pipelines module in ``path``, absolute or relative, at any depth of its code."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = _function_lines(tree)
    rel = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        targets: list[str]
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] not in TOP:
                continue
            module = deepest_module(target)
            imp = Import(name, rel, node.lineno, module, node.lineno in in_function) if module else None
            if imp is not None and module != name and imp not in found:
                found.append(imp)
    return found


def all_modules() -> list[Path]:
    return sorted(p for top in TOP for p in (ROOT / top).rglob("*.py"))


def all_imports() -> list[Import]:
    return [imp for path in all_modules() for imp in imports_of(path)]


def layer_of(module: str) -> tuple[int, str] | None:
    best = None
    for number, name, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), (number, name))
    # the package root alone is foundation; its sub-packages need a layer of their own
    if (
        best is not None
        and best[1][0] == 0
        and module.startswith("avsep.")
        and module.split(".")[1] not in ("io", "config")
    ):
        return None
    return None if best is None else best[1]


def method_of(module: str) -> str | None:
    """``avsep.models.<method>`` of a module inside a method package, None for the shared parts and elsewhere."""
    package = ".".join(module.split(".")[:3])
    return package if package in METHOD_PACKAGES else None


def models_place(module: str) -> bool:
    """Whether a module of avsep.models is the registry, the contract, a shared part or in a method package."""
    package = ".".join(module.split(".")[:3])
    return not module.startswith("avsep.models.") or package in MODELS_SHARED or package in METHOD_PACKAGES


def package_of(module: str) -> str:
    """The unit of the cycle check: ``avsep.<package>``, with each method package and models.common on its own."""
    parts = module.split(".")
    if parts[0] == "pipelines":
        return "pipelines"
    if parts[:2] == ["avsep", "models"] and len(parts) >= 3:
        return ".".join(parts[:3]) if method_of(module) or parts[2] == "common" else "avsep.models"
    return ".".join(parts[:2])


def where(imp: Import) -> str:
    return f"{imp.path}:{imp.line} ({imp.importer}) imports {imp.target}"


def test_every_module_has_a_layer():
    lost = sorted({module_name(p) for p in all_modules() if layer_of(module_name(p)) is None})
    assert not lost, (
        "modules outside every layer of docs/architecture.md (move them into a layer's package, "
        f"or add the package to a layer there and in LAYERS): {lost}"
    )


def test_every_model_module_is_shared_or_in_a_method_package():
    lost = sorted({module_name(p) for p in all_modules() if not models_place(module_name(p))})
    assert not lost, (
        "modules of avsep.models that are neither avsep.models.common (shared parts), the registry "
        f"and contract, nor in a method package registered in avsep.models.METHODS: {lost}"
    )


def test_imports_go_down_the_layers():
    bad = []
    for imp in all_imports():
        low, high = layer_of(imp.target), layer_of(imp.importer)
        if low is not None and high is not None and low[0] > high[0]:
            bad.append(f"{where(imp)}: layer {high[0]} ({high[1]}) may not import layer {low[0]} ({low[1]})")
    assert not bad, "imports up the layers:\n" + "\n".join(bad)


def test_methods_import_no_other_method():
    bad = []
    for imp in all_imports():
        mine, theirs = method_of(imp.importer), method_of(imp.target)
        shared = imp.importer == "avsep.models.common" or imp.importer.startswith("avsep.models.common.")
        if theirs is not None and theirs != mine and (mine is not None or shared):
            who = "the shared model parts" if shared else f"method {mine}"
            bad.append(
                f"{where(imp)}: {who} may not import method package {theirs} (share code through avsep.models.common)"
            )
    assert not bad, "methods reaching into other methods:\n" + "\n".join(bad)


def test_evaluation_reaches_methods_only_through_the_registry():
    bad = [
        f"{where(imp)}: evaluation uses a method only through avsep.models.method(name) and its Method"
        for imp in all_imports()
        if (imp.importer == "avsep.evaluate" or imp.importer.startswith("avsep.evaluate."))
        and method_of(imp.target) is not None
    ]
    assert not bad, "evaluation importing method packages:\n" + "\n".join(bad)


def test_only_the_cli_imports_pipelines_and_only_inside_functions():
    bad = []
    for imp in all_imports():
        if package_of(imp.target) != "pipelines" or package_of(imp.importer) == "pipelines":
            continue
        if package_of(imp.importer) != "avsep.cli":
            bad.append(f"{where(imp)}: only avsep.cli may import the orchestration (pipelines)")
        elif not imp.in_function:
            bad.append(
                f"{where(imp)}: avsep.cli imports pipelines inside the function that needs it, so that "
                "importing the CLI does not import Prefect"
            )
    assert not bad, "library importing its orchestration:\n" + "\n".join(bad)


def package_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        a, b = package_of(imp.importer), package_of(imp.target)
        if a != b:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles_between_packages():
    imports = all_imports()
    report = []
    for group in package_cycles(imports):
        edges = [
            where(imp)
            for imp in imports
            if package_of(imp.importer) in group
            and package_of(imp.target) in group
            and package_of(imp.importer) != package_of(imp.target)
        ]
        report.append(f"packages {', '.join(group)} import each other:\n  " + "\n  ".join(edges))
    assert not report, "import cycles between packages:\n" + "\n".join(report)


def test_the_walk_sees_function_level_imports_and_resolves_modules():
    # avsep.cli.report imports the report package inside run(); `from avsep.report.browser import X` names a module
    found = {(imp.target, imp.in_function) for imp in imports_of(ROOT / "avsep" / "cli" / "report.py")}
    assert {("avsep.report", True), ("avsep.report.browser", True), ("avsep.cli", True)} <= found
    cycles = package_cycles(
        [
            Import("avsep.a.x", "a", 1, "avsep.b.y", True),
            Import("avsep.b.y", "b", 1, "avsep.c", False),
            Import("avsep.c", "c", 1, "avsep.a", False),
        ]
    )
    assert cycles == [["avsep.a", "avsep.b", "avsep.c"]]
    assert layer_of("avsep.models.dmc.network") == (5, "models") and layer_of("avsep.mixing") is None
    assert method_of("avsep.models.common.streams") is None and method_of("avsep.models.dmc") == "avsep.models.dmc"
