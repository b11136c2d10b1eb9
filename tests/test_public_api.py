"""`pytest_wasmconc` names what users need, imported on first use, so that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest_wasmconc
from child_processes import CHILD_LIMIT_S

# The public API. A change here is a change users see: add a name on purpose, remove one only
# through a deprecation (old import paths from the modules keep working either way).
PUBLIC = [
    # running guests
    "Runner", "RunSettings", "GuestIO", "Preempt", "Outcome", "Status", "ThreadReport", "Exploration",
    "Program", "load_program", "CompileCache", "ReplayToken", "decode_token", "encode_token",
    # the runtime's errors
    "WasmconcError", "ConfigError", "ModuleError", "ReplayError",
    # host functions as generators, their requests, host locks
    "HostFunction", "HostCall", "GuestExit", "GuestTrap", "Sleep", "Until", "Wait", "WaitResult",
    "Yield", "ValType", "HostLock",
    # host functions as plain callables (wasm_imports) and their sync objects: pytest_wasmconc.host
    "BoundedSemaphore", "Condition", "Empty", "Event", "Full", "GuestCall", "GuestCallError", "GuestCallTrap",
    "HostCallAborted", "HostImportError", "HostSyncError", "Lock", "LockEvent", "Queue", "RLock", "Semaphore",
    "SyncEvent", "UserImports", "current_call", "nonblocking", "observe", "sleep", "wasm_signature",
    # writing a check: pytest_wasmconc.runtime.extensions
    "Check", "CheckFailure",
    # WASI options of GuestIO
    "Errno", "FaultPlan",
    # pytest: the fixtures' objects, the exceptions and the warning
    "WasmScheduler", "Shard", "WasiSandbox",
    "GuestCheckError", "GuestHangError", "GuestLoadError", "GuestOutcomeError", "WasmGuestFailure", "WasmconcWarning",
]


def test_all_is_exactly_the_public_list() -> None:
    assert sorted(pytest_wasmconc.__all__) == sorted(PUBLIC)
    assert len(set(PUBLIC)) == len(PUBLIC)


def test_every_public_name_resolves_to_the_object_of_its_home_module() -> None:
    import importlib

    # The modules as imported now (sys.modules): a package's attribute for a submodule
    # can be a module object a harness has since dropped (pytester's inline runs).
    homes = [importlib.import_module(f"pytest_wasmconc.{m}") for m in
             ("runtime", "runtime.extensions", "host", "wasi", "pytest_layer.errors", "pytest_layer.sandbox",
              "pytest_layer.scheduler")]
    for name in PUBLIC:
        value = getattr(pytest_wasmconc, name)
        assert any(getattr(home, name, None) is value for home in homes), name


def test_dir_lists_every_public_name() -> None:
    assert set(PUBLIC) <= set(dir(pytest_wasmconc))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        pytest_wasmconc.NoSuchName  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchName" in str(exc)
    else:
        raise AssertionError("pytest_wasmconc.NoSuchName resolved")


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from pytest_wasmconc import *", namespace)
    assert set(PUBLIC) <= set(namespace)


def test_importing_the_package_imports_neither_wasmtime_nor_the_runtime() -> None:
    """Only the runtime's registry of worlds (and its errors) load: the package registers its WASI there."""
    code = textwrap.dedent("""
        import sys
        import pytest_wasmconc
        print(sorted(m for m in sys.modules if m == "wasmtime" or m.startswith(("wasmtime.",
              "pytest_wasmconc.runtime", "pytest_wasmconc.wasi", "pytest_wasmconc.host",
              "pytest_wasmconc.session"))))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["pytest_wasmconc.runtime", "pytest_wasmconc.runtime.errors",
                                       "pytest_wasmconc.runtime.worlds"])


def test_the_host_submodule_is_not_shadowed_by_a_public_name() -> None:
    import pytest_wasmconc.host

    from pytest_wasmconc import host

    assert host is pytest_wasmconc.host
    assert host.__name__ == "pytest_wasmconc.host"


def test_the_old_import_paths_still_work() -> None:
    from pytest_wasmconc.host import Lock
    from pytest_wasmconc.plugin import GuestHangError
    from pytest_wasmconc.pytest_layer import GuestCheckError, register_check
    from pytest_wasmconc.runtime import Runner

    assert pytest_wasmconc.Lock is Lock
    assert pytest_wasmconc.Runner is Runner
    assert pytest_wasmconc.GuestHangError is GuestHangError
    assert pytest_wasmconc.GuestCheckError is GuestCheckError
    assert callable(register_check)


def test_a_name_follows_its_home_module_when_that_module_is_imported_anew() -> None:
    # pytester's inline runs drop the modules first imported during the run; a
    # lazily loaded name must not keep answering with the dropped module's object.
    import importlib
    import sys

    first = pytest_wasmconc.WasmScheduler
    dropped = sys.modules.pop("pytest_wasmconc.pytest_layer.scheduler")
    try:
        fresh = importlib.import_module("pytest_wasmconc.pytest_layer.scheduler")
        assert fresh is not dropped
        assert pytest_wasmconc.WasmScheduler is fresh.WasmScheduler is not first
    finally:
        sys.modules["pytest_wasmconc.pytest_layer.scheduler"] = dropped
