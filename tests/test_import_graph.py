"""The package's layering, read from its own source: imports run downward and never in a circle.

Layers, top to bottom (a module may import its own layer and the ones below):

    front ends    pytest_wasmconc (the package's names), plugin.py, cli.py, __main__.py
    pytest glue   pytest_layer/
    assembly      session.py, options.py, host.py, directed.py, timelines.py
    plug-ins      checks/, wasi/     (checks may use wasi's models; wasi never uses checks)
    core          runtime/
    foundations   instrument/, schedulers/

Every import statement counts, also those inside functions (they once hid
cycles), except those under `if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "pytest_wasmconc"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# The first matching prefix gives a module's layer (lower number = lower layer).
LAYERS: list[tuple[str, int]] = [
    ("lazy_names", 0), ("instrument", 0), ("schedulers", 0),
    ("runtime", 1),
    ("wasi", 2), ("checks", 2),
    ("session", 3), ("options", 3), ("host", 3), ("directed", 3), ("timelines", 3), ("shrinking", 3),
    ("_moved", 3),
    ("pytest_layer", 4),
    ("plugin", 5), ("cli", 5), ("progress", 5), ("__main__", 5), ("", 5),  # "": the package's __init__
]
# Plug-ins share a layer but not every direction: WASI is below the checks that observe it.
FORBIDDEN_WITHIN_LAYER = {("wasi", "checks")}
PYTEST_ALLOWED = ("plugin", "pytest_layer")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in ROOT.rglob("*.py")}
# compiled: no source to read, imports nothing of ours
EXTENSIONS = {f"{PACKAGE}.runtime.lane._lane", f"{PACKAGE}.checks.races._native"}
KNOWN = set(MODULES) | EXTENSIONS


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def _owner(name: str) -> str | None:
    """The module (or package) of ours that `name` is, or is an attribute of."""
    while name and name not in KNOWN:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every executed import statement of `module`."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in KNOWN]
            yield from ((s, node.lineno) for s in submodules)
            if len(submodules) < len(node.names):  # some names are attributes of `base` itself
                yield base, node.lineno


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _ in imports_of(module):
            owner = _owner(target) if target.startswith(PACKAGE) else None
            if owner is not None and owner != module:
                edges[module].add(owner)
    return edges


def area(module: str) -> str:
    rest = module[len(PACKAGE) + 1:] if module != PACKAGE else ""
    return rest.split(".")[0]


def layer(module: str) -> int:
    name = area(module)
    for prefix, rank in LAYERS:
        if name == prefix:
            return rank
    raise AssertionError(f"{module}: not in any layer; add its folder to LAYERS in {__file__}")


def test_every_module_belongs_to_a_layer() -> None:
    for module in MODULES:
        layer(module)


def test_imports_only_run_downward() -> None:
    upward = []
    for module, targets in graph().items():
        for target in targets:
            if layer(target) > layer(module) or (area(module), area(target)) in FORBIDDEN_WITHIN_LAYER:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that run upward:\n" + "\n".join(sorted(upward))


def test_the_runtime_imports_no_plug_in() -> None:
    """Said separately because it is the rule everything else rests on: WASI and checks plug in."""
    offending = sorted(f"{m} -> {t}" for m, ts in graph().items() if area(m) == "runtime"
                       for t in ts if area(t) not in ("runtime", "instrument", "schedulers", "lazy_names"))
    assert not offending, "\n".join(offending)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_cycles_between_files() -> None:
    assert cycles(graph()) == []


def test_pytest_is_imported_only_by_the_pytest_layer() -> None:
    offending = []
    for module in MODULES:
        if area(module) in PYTEST_ALLOWED:
            continue
        for target, line in imports_of(module):
            if target.split(".")[0] in ("pytest", "_pytest", "pluggy"):
                offending.append(f"{module}:{line} imports {target}")
    assert not offending, "\n".join(offending)


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_the_graph_sees_function_local_and_from_package_imports() -> None:
    """The checks above can fail: the graph holds edges that only a function-local import makes."""
    edges = graph()
    assert f"{PACKAGE}.session" in edges[PACKAGE]  # the package imports the session inside a function
    assert f"{PACKAGE}.runtime.lane" in edges[f"{PACKAGE}.runtime.drivers.serial"]  # `from .. import lane`


@pytest.mark.parametrize("package", ["pytest_layer", "runtime/userhost"])
def test_a_package_index_names_every_module(package: str) -> None:
    """The module index in a package's docstring is how a newcomer finds a module: it must be complete."""
    folder = ROOT / package
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    modules += sorted(p.name for p in folder.iterdir() if (p / "__init__.py").exists())
    missing = [m for m in modules if m not in doc]
    assert not missing, f"{package}/__init__.py's index leaves out {missing}"
