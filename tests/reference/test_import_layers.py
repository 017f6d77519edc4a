"""The package's imports follow its stages: nothing imports from a later stage, and no import circle.

The stages, in the order a cell goes through them (README, "Layout"):
``_fs`` → ``model`` → ``layout`` → ``planning`` → ``settings`` → ``collection`` → ``execution`` →
``verdicts`` → ``reporting`` → ``fleet``; ``cellrun``, ``plugin``, ``hookspecs``, ``__main__`` and the
package itself sit on top and may import any stage. Every import counts: module-level, inside a
function, and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_tipc

STAGES = ("_fs", "model", "layout", "planning", "settings", "collection", "execution", "verdicts", "reporting",
          "fleet")
TOP = ("cellrun", "plugin", "hookspecs", "__main__")


def modules(package: Path, name: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = [name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The modules of ``known`` that module ``name`` imports, with the line of each import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            root = target.partition(".")[0]
            if target and target != name and target != root:  # the package itself imports nothing here
                yield target, node.lineno


def graph(package: Path, name: str) -> dict[str, dict[str, int]]:
    known = modules(package, name)
    return {module: dict(imports(module, path, known)) for module, path in known.items()}


def stage(module: str) -> int:
    """The stage index of a module; the modules on top rank after every stage."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in TOP:
        return len(STAGES)
    if parts[1] not in STAGES:
        raise AssertionError(f"{module}: a module outside the stages; add it to STAGES or TOP in {__file__}")
    return STAGES.index(parts[1])


def back_up(edges: dict[str, dict[str, int]]) -> list[str]:
    """Every import of a later stage by an earlier one, as ``module:line imports target``."""
    return [f"{module}:{line} imports {target}" for module, targets in sorted(edges.items())
            for target, line in sorted(targets.items()) if stage(target) > stage(module)]


def circles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


PACKAGE = Path(pytest_tipc.__file__).parent


def test_no_import_runs_back_up_the_stages() -> None:
    assert back_up(graph(PACKAGE, "pytest_tipc")) == []


def test_no_import_circle() -> None:
    assert circles(graph(PACKAGE, "pytest_tipc")) == []


def test_every_module_belongs_to_a_stage() -> None:
    for module in graph(PACKAGE, "pytest_tipc"):
        stage(module)  # raises for a module outside the stages


@pytest.fixture
def tangled(tmp_path: Path) -> Path:
    """A package with one import back up the stages (inside a function) and one circle."""
    root = tmp_path / "pytest_tipc"
    for folder in ("model", "planning", "execution", "reporting"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from pytest_tipc.model import cells\n")
    (root / "model" / "cells.py").write_text("import os\n")
    (root / "planning" / "plan.py").write_text("def f():\n    from pytest_tipc.reporting import report\n")
    (root / "execution" / "a.py").write_text("from . import b\n")
    (root / "execution" / "b.py").write_text("from pytest_tipc.execution.a import x\n")
    (root / "reporting" / "report.py").write_text("from ..model.cells import os\n")
    return root


def test_the_walk_finds_a_back_up_import_and_a_circle(tangled: Path) -> None:
    edges = graph(tangled, "pytest_tipc")
    assert back_up(edges) == ["pytest_tipc.planning.plan:2 imports pytest_tipc.reporting",
                              "pytest_tipc.planning.plan:2 imports pytest_tipc.reporting.report"]
    assert circles(edges) == [["pytest_tipc.execution.a", "pytest_tipc.execution.b"]]
    assert edges["pytest_tipc.reporting.report"] == {"pytest_tipc.model.cells": 1}
