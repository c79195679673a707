"""The orchestration boundary: importing ``pipelines`` changes nothing, and the library reaches it only from the
CLI commands that run or serve a flow, inside their functions."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from typing import TypeGuard

from tests.conftest import REPO

ALLOWED = {"avsep/cli/build.py", "avsep/cli/serve.py"}


def test_importing_pipelines_sets_no_environment_and_imports_no_prefect():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    code = (
        "import os, sys; before = dict(os.environ); import pipelines, pipelines.deployments; "
        "print(sorted(k for k in os.environ if k.startswith('PREFECT_') and k not in before), "
        "'prefect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "False"], out.stdout + out.stderr


def _imports_pipelines(node: ast.AST) -> TypeGuard[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "pipelines" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pipelines" and not node.level


def test_the_library_imports_pipelines_only_inside_the_cli_commands_functions():
    wrong = []
    for path in sorted((REPO / "avsep").rglob("*.py")):
        name = str(path.relative_to(REPO))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {
            id(n)
            for n in ast.walk(
                ast.Module(
                    body=[
                        n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    ],
                    type_ignores=[],
                )
            )
        }
        for node in ast.walk(tree):
            if _imports_pipelines(node) and (name not in ALLOWED or id(node) in top_level):
                wrong.append(f"{name}:{node.lineno}")
    assert not wrong, f"avsep imports the orchestration (pipelines) here: {wrong}"
