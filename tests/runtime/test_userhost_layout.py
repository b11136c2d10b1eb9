"""The user host-function model's folders: small modules, imports that only run one way, old paths kept.

runtime/userhost/ (with sync/) and checks/lock_order/ were split out of
modules of 600-1,150 lines whose function-local imports hid import cycles.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

import pytest_wasmconc.host as host
from pytest_wasmconc.runtime.userhost import api, run, worker
from pytest_wasmconc.runtime.userhost.hostlock import HostLock

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_wasmconc"
FOLDERS = [PACKAGE / "runtime" / "userhost", PACKAGE / "checks" / "lock_order"]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for folder in FOLDERS:
        for path in folder.rglob("*.py"):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules a file imports, TYPE_CHECKING ones included (`from . import x`: the submodule x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return out


def test_no_import_cycle_between_the_modules() -> None:
    modules = _modules()
    graph = {m: {dep for dep in _imports(m, p, modules) if dep in modules and dep != m} for m, p in modules.items()}
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        for dep in sorted(graph[m]):
            visit(dep, path + [m])
        done.add(m)

    for m in sorted(graph):
        visit(m, [])
    assert len(graph) >= 20  # (the walk saw the folders)


def test_no_function_local_imports() -> None:
    local = []
    for path in _modules().values():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local += [f"{path.name}:{node.lineno}" for node in ast.walk(fn)
                          if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert local == []


def test_every_module_is_small_or_says_why() -> None:
    big = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in _modules().values()
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert big == []


def test_the_sync_objects_and_the_lock_order_check_load_without_the_user_host_machinery() -> None:
    # Making a host Lock (a test module's global, the wasm_host_lock fixture) must not load wasmtime.
    code = textwrap.dedent("""
        import sys
        from pytest_wasmconc.runtime.userhost.sync import Lock
        Lock("db")
        print(sorted(m for m in sys.modules if m == "wasmtime" or m.startswith(
            ("pytest_wasmconc.runtime.userhost.run", "pytest_wasmconc.runtime.machine"))))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.parametrize(("old", "name", "new"), [
    ("pytest_wasmconc.runtime.userimports", "UserImports", api.UserImports),
    ("pytest_wasmconc.runtime.userimports", "HostRun", run.HostRun),
    ("pytest_wasmconc.runtime.userimports", "GuestCall", host.GuestCall),
    ("pytest_wasmconc.runtime.hostsync", "Lock", host.Lock),
    ("pytest_wasmconc.runtime.hostsync", "SyncEvent", host.LockEvent),
    ("pytest_wasmconc.runtime.hostworker", "HostCallAborted", worker.HostCallAborted),
    ("pytest_wasmconc.runtime.hostlocks", "HostLock", HostLock),
    ("pytest_wasmconc.runtime.hostlocks", "HostLockEvent", host.LockEvent),
])
def test_an_old_module_path_still_gives_its_names_with_a_deprecation_warning(old: str, name: str,
                                                                             new: object) -> None:
    kept = sys.modules.pop(old, None)
    try:
        with pytest.warns(DeprecationWarning, match=f"{old} moved to "):
            alias = importlib.import_module(old)
        assert getattr(alias, name) is new
    finally:
        sys.modules.pop(old, None)
        if kept is not None:
            sys.modules[old] = kept
