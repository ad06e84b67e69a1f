"""The packages under service/ import one another without a cycle.

A unit is a top-level package or module of service/ (service.scoring, service.errors). Every
import statement counts, those inside functions too: an import moved into a function to
dodge a cycle is still the cycle. service/app.py and service/cli/ wire everything and
nothing imports them, so they close no cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"

Graph = dict[str, dict[str, list[str]]]  # unit -> unit it imports -> "file:line" of each import


def _module(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """Every module (or name in a module) an import statement of the file names, anywhere."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package, one level up per extra dot
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                # `from service import db` names a module; `from service.db import x` a name
                # in one. Either way the unit is what counts.
                yield f"{source}.{alias.name}", node.lineno


def package_graph(package_dir: Path = SERVICE) -> Graph:
    root = package_dir.name
    units = {p.stem for p in package_dir.glob("*.py") if p.name != "__init__.py"}
    units |= {p.name for p in package_dir.iterdir() if (p / "__init__.py").is_file()}

    def unit_of(module: str) -> str | None:
        parts = module.split(".")
        if len(parts) < 2 or parts[0] != root or parts[1] not in units:
            return None
        return f"{root}.{parts[1]}"

    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted(package_dir.rglob("*.py")):
        module = _module(path, package_dir)
        importer = unit_of(module)
        if importer is None:
            continue
        for name, line in _imported(path, module):
            imported = unit_of(name)
            if imported is not None and imported != importer:
                site = f"{path.relative_to(package_dir.parent)}:{line}"
                graph[importer][imported].append(site)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of two or more units (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for imported in graph.get(unit, {}):
            if imported not in index:
                visit(imported)
                low[unit] = min(low[unit], low[imported])
            elif imported in on_stack:
                low[unit] = min(low[unit], index[imported])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return sorted(found)


def describe(graph: Graph, group: list[str]) -> str:
    """The imports that tie a group together, where they are."""
    lines = [f"cycle between {', '.join(group)}:"]
    for importer in group:
        for imported, sites in sorted(graph[importer].items()):
            if imported in group:
                lines.append(f"  {importer} -> {imported}: {', '.join(sites)}")
    return "\n".join(lines)


@pytest.mark.heavy
def test_the_packages_under_service_import_one_another_without_a_cycle() -> None:
    graph = package_graph()
    assert "service.scoring" in graph  # the walk found the tree
    found = cycles(graph)
    assert not found, "\n".join(describe(graph, group) for group in found)


def test_a_cycle_hidden_in_a_function_is_found_and_named(tmp_path: Path) -> None:
    service = tmp_path / "service"
    for package in ("low", "high"):
        (service / package).mkdir(parents=True)
        (service / package / "__init__.py").write_text("")
    (service / "__init__.py").write_text("")
    (service / "errors.py").write_text("")
    (service / "high" / "views.py").write_text(
        "from service.low.rules import rule\nfrom service import errors\n"
    )
    (service / "low" / "rules.py").write_text(
        "def rule():\n    from ..high import views\n    return views\n"
    )

    graph = package_graph(service)

    assert graph["service.high"]["service.errors"] == ["service/high/views.py:2"]
    assert cycles(graph) == [["service.high", "service.low"]]
    assert describe(graph, ["service.high", "service.low"]).splitlines() == [
        "cycle between service.high, service.low:",
        "  service.high -> service.low: service/high/views.py:1",
        "  service.low -> service.high: service/low/rules.py:2",
    ]
