"""The import graph of ``flows/``, read from the source with ``ast``: every ``import`` and
``from ... import`` of a flows module, at module level or inside a function (an import
deferred into a function is still a dependency).

* No cycle between modules.
* No cycle between the parts of the package: a subpackage (``flows.notify``) or a module
  at the base (``flows.warehouse``) is one part. This is what keeps the layers apart: the
  base below the stages, ``report`` above ``notify`` and never the reverse, ``runs`` and
  ``pipeline`` on top.
* No module imports a private name (``_x``) of another module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FLOWS = Path(__file__).resolve().parent.parent / "flows"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # the flows module the import reaches
    name: str | None  # the name taken from it (``from m import name``), if any
    line: int


@cache
def modules() -> dict[str, Path]:
    """Every module of flows/ by its dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(FLOWS.rglob("*.py")):
        parts = list(path.relative_to(FLOWS.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _flows_module(dotted: str) -> str | None:
    """The module of flows/ that ``dotted`` is or lies in, None outside flows."""
    known = modules()
    while dotted and dotted not in known:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _imports_of(importer: str, path: Path) -> Iterator[Import]:
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _flows_module(alias.name)
                if target is not None:
                    yield Import(importer, target, None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules():
                    yield Import(importer, submodule, None, node.lineno)
                    continue
                target = _flows_module(base)
                if target is not None:
                    yield Import(importer, target, alias.name, node.lineno)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(
        found
        for importer, path in modules().items()
        for found in _imports_of(importer, path)
        if found.imported != importer
    )


def part_of(module: str) -> str:
    """``flows.notify.dispatch`` -> ``flows.notify``; ``flows.warehouse`` stays."""
    return ".".join(module.split(".")[:2])


def _graph(edges: Set[tuple[str, str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for start, end in edges:
        graph.setdefault(start, set()).add(end)
        graph.setdefault(end, set())
    return graph


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _explain(components: list[list[str]], edges: Set[tuple[str, str]]) -> str:
    lines = []
    for component in components:
        members = set(component)
        lines.append(" <-> ".join(component))
        lines += [f"    {a} -> {b}" for a, b in sorted(edges) if a in members and b in members]
    return "\n".join(lines)


def test_the_graph_is_read() -> None:
    """A check that reads nothing would pass: the known edges are there."""
    edges = {(i.importer, i.imported) for i in all_imports()}
    assert ("flows.pipeline", "flows.notify.dispatch") in edges
    assert ("flows.notify.dispatch", "flows.settings") in edges
    assert len(modules()) > 50


def test_no_cycle_between_modules() -> None:
    edges = {(i.importer, i.imported) for i in all_imports()}
    found = cycles(_graph(edges))
    assert not found, "import cycles between modules:\n" + _explain(found, edges)


def test_no_cycle_between_parts_of_the_package() -> None:
    edges = {
        (part_of(i.importer), part_of(i.imported))
        for i in all_imports()
        if part_of(i.importer) != part_of(i.imported) and i.importer != "flows"
    }
    found = cycles(_graph(edges))
    detail = {
        (f"{i.importer}:{i.line}", i.imported)
        for i in all_imports()
        if any({part_of(i.importer), part_of(i.imported)} <= set(c) for c in found)
        and part_of(i.importer) != part_of(i.imported)
    }
    assert not found, (
        "cycles between parts of flows/:\n"
        + "\n".join(" <-> ".join(c) for c in found)
        + "\n"
        + "\n".join(f"    {a} -> {b}" for a, b in sorted(detail))
    )


def test_no_private_name_imported_from_another_module() -> None:
    private = [
        f"{i.importer}:{i.line} imports {i.name} from {i.imported}"
        for i in all_imports()
        if i.name is not None and i.name.startswith("_") and not i.name.startswith("__")
    ]
    assert not private, "\n".join(private)
