"""The layering of docs/architecture.md, enforced on the source's imports.

Every ``import`` and ``from ... import`` statement of ``src/levtrade`` counts: at module level,
inside functions and under ``TYPE_CHECKING`` alike (a type-only import is still a dependency a
reader has to follow, and the cycle it closes is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "levtrade._version",
            "levtrade._jit",
            "levtrade._json",
            "levtrade._validation",
            "levtrade.errors",
        }
    ),
    frozenset({"levtrade.model"}),
    frozenset({"levtrade.margin"}),
    frozenset({"levtrade.venues"}),
    frozenset({"levtrade.data", "levtrade.calculator"}),
    frozenset({"levtrade.spec"}),
    frozenset({"levtrade.strategy"}),
    frozenset({"levtrade.freqtrade"}),
    frozenset({"levtrade.risk", "levtrade.templates"}),
    frozenset({"levtrade.backtest"}),
    frozenset({"levtrade.report"}),
    frozenset({"levtrade.localvenue"}),
    frozenset({"levtrade.live", "levtrade.sweep"}),
    frozenset({"levtrade.configuration"}),
    frozenset({"levtrade.cli"}),
    frozenset({"levtrade"}),
)
"""Lowest first. A module may import its own package and the packages of lower layers only."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "levtrade").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str:
    """The module of ``name`` (``levtrade.margin.formulas.linear_upnl`` → its module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_in(path.read_text("utf-8"), module, package)


def _imports_in(source: str, module: str, package: str) -> set[str]:
    """The levtrade modules ``source`` imports anywhere in it (``ast.walk``: every node)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(_owner(a.name) for a in node.names if a.name.startswith("levtrade"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("levtrade"):
                for alias in node.names:
                    found.add(_owner(f"{target}.{alias.name}") or _owner(target))
    found.discard(module)
    found.discard("")
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _package(module: str) -> str:
    """``levtrade.margin.account`` → ``levtrade.margin``; top-level modules are their own."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _layer(package: str) -> int:
    for k, members in enumerate(LAYERS):
        if package in members:
            return k
    raise AssertionError(f"{package} is in no layer of LAYERS: add it where it belongs")


def _importers_of(targets: tuple[str, ...], sources: str) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module, imports in GRAPH.items()
        if module == sources or module.startswith(sources + ".")
        for imported in imports
        if any(imported == t or imported.startswith(t + ".") for t in targets)
    )


def test_every_package_has_a_layer() -> None:
    for module in MODULES:
        _layer(_package(module))


def test_imports_point_down_the_layers() -> None:
    upward = sorted(
        f"{module} imports {imported}"
        for module, imports in GRAPH.items()
        for imported in imports
        if _package(imported) != _package(module)
        and _layer(_package(imported)) >= _layer(_package(module))
    )
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("levtrade.strategy", ("levtrade.backtest",)),
        (
            "levtrade.margin",
            (
                "levtrade.venues",
                "levtrade.backtest",
                "levtrade.strategy",
                "levtrade.report",
                "levtrade.configuration",
                "levtrade.cli",
            ),
        ),
        ("levtrade.backtest", ("levtrade.report",)),
    ],
)
def test_the_named_rules(package: str, forbidden: tuple[str, ...]) -> None:
    assert _importers_of(forbidden, package) == []


def test_model_imports_only_the_foundation() -> None:
    foundation = LAYERS[0]
    model = [imports for module, imports in GRAPH.items() if module.startswith("levtrade.model")]
    outside = {i for imports in model for i in imports if not i.startswith("levtrade.model")}
    assert outside <= foundation


def test_the_checker_sees_type_checking_function_and_relative_imports() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from levtrade.backtest.engine import Engine
def late():
    import levtrade.report.html
    from . import formulas
"""
    found = _imports_in(source, "levtrade.margin.example", "levtrade.margin")
    assert found == {"levtrade.backtest.engine", "levtrade.report.html", "levtrade.margin.formulas"}
