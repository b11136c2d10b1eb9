"""pytest-wasmconc: test multithreaded WebAssembly/WASI guests under a deterministic scheduler.

The names users need, in one place (`from pytest_wasmconc import Runner, GuestIO`).
Each is imported on first use (module `__getattr__`): pytest loads the plugin in
every session of an environment where the package is installed, so importing
this package must not import wasmtime or the runtime. The modules they live in
(`runtime`, `host`, `plugin`, `wasi`, ...) stay importable as before.
tests/test_public_api.py pins the list.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _moved
from .runtime import worlds as runtime_worlds

_moved.install()  # old module paths keep working for one release, with a DeprecationWarning


def _default_worlds() -> Any:
    # Imported at the first execution, not here: the package must stay light (see above).
    from .session import DefaultWorlds

    return DefaultWorlds()


runtime_worlds.set_default_worlds(_default_worlds)

if TYPE_CHECKING:
    from .host import (
        BoundedSemaphore,
        Condition,
        Empty,
        Event,
        Full,
        GuestCall,
        GuestCallError,
        GuestCallTrap,
        HostCallAborted,
        HostImportError,
        HostSyncError,
        Lock,
        LockEvent,
        Queue,
        RLock,
        Semaphore,
        SyncEvent,
        UserImports,
        current_call,
        nonblocking,
        observe,
        sleep,
        wasm_signature,
    )
    from .pytest_layer.errors import (
        GuestCheckError,
        GuestHangError,
        GuestLoadError,
        GuestOutcomeError,
        WasmconcWarning,
        WasmGuestFailure,
    )
    from .pytest_layer.sandbox import WasiSandbox
    from .pytest_layer.scheduler import Shard, WasmScheduler
    from .runtime import (
        CompileCache,
        ConfigError,
        Exploration,
        GuestExit,
        GuestIO,
        GuestTrap,
        HostCall,
        HostFunction,
        HostLock,
        ModuleError,
        Outcome,
        Preempt,
        Program,
        ReplayError,
        ReplayToken,
        Runner,
        RunSettings,
        Sleep,
        Status,
        ThreadReport,
        Until,
        ValType,
        Wait,
        WaitResult,
        WasmconcError,
        Yield,
        decode_token,
        encode_token,
        load_program,
    )
    from .runtime.extensions import Check, CheckFailure
    from .wasi import Errno, FaultPlan

# name -> the module it is defined or re-exported in (relative to this package)
_HOME: dict[str, str] = {
    # running guests (also what the `wasmconc` command uses)
    **dict.fromkeys([
        "Runner", "RunSettings", "GuestIO", "Preempt", "Outcome", "Status", "ThreadReport", "Exploration",
        "Program", "load_program", "CompileCache", "ReplayToken", "decode_token", "encode_token",
        # errors of the runtime
        "WasmconcError", "ConfigError", "ModuleError", "ReplayError",
        # host functions as generators (`HostFunction`, `HostCall`) and their requests; not the `@host`
        # decorator (`runtime.host`): the name is the submodule `pytest_wasmconc.host`
        "HostFunction", "HostCall", "GuestExit", "GuestTrap", "Sleep", "Until", "Wait", "WaitResult",
        "Yield", "ValType", "HostLock",  # HostLock: deprecated, use Lock with plain host functions
    ], ".runtime"),
    # host functions as plain callables (the wasm_imports fixture), and their sync objects
    **dict.fromkeys([
        "BoundedSemaphore", "Condition", "Empty", "Event", "Full", "GuestCall", "GuestCallError", "GuestCallTrap",
        "HostCallAborted", "HostImportError", "HostSyncError", "Lock", "LockEvent", "Queue", "RLock", "Semaphore",
        "SyncEvent", "UserImports", "current_call", "nonblocking", "observe", "sleep", "wasm_signature",
    ], ".host"),
    # writing a check of your own (runtime/extensions.py: one protocol, default no-op methods)
    **dict.fromkeys(["Check", "CheckFailure"], ".runtime.extensions"),
    # WASI settings of GuestIO.wasi_options
    **dict.fromkeys(["Errno", "FaultPlan"], ".wasi"),
    # what pytest tests see: the fixtures' objects, the exceptions and the warning
    **dict.fromkeys(["WasmScheduler", "Shard"], ".pytest_layer.scheduler"),
    "WasiSandbox": ".pytest_layer.sandbox",
    **dict.fromkeys(["GuestCheckError", "GuestHangError", "GuestLoadError", "GuestOutcomeError", "WasmGuestFailure",
                     "WasmconcWarning"],
                    ".pytest_layer.errors"),
}

__all__ = [
    "BoundedSemaphore", "Check", "CheckFailure", "CompileCache", "Condition", "ConfigError", "Empty", "Errno",
    "Event", "Exploration", "FaultPlan", "Full", "GuestCall", "GuestCallError", "GuestCallTrap", "GuestCheckError",
    "GuestExit", "GuestHangError", "GuestIO", "GuestLoadError", "GuestOutcomeError", "GuestTrap", "HostCall",
    "HostCallAborted",
    "HostFunction", "HostImportError", "HostLock", "HostSyncError", "Lock", "LockEvent", "ModuleError", "Outcome",
    "Preempt", "Program", "Queue", "RLock", "ReplayError", "ReplayToken", "RunSettings", "Runner", "Semaphore",
    "Shard", "Sleep", "Status", "SyncEvent", "ThreadReport", "Until", "UserImports", "ValType", "Wait",
    "WaitResult", "WasiSandbox", "WasmGuestFailure", "WasmScheduler", "WasmconcError", "WasmconcWarning", "Yield",
    "current_call", "decode_token", "encode_token", "load_program", "nonblocking", "observe", "sleep",
    "wasm_signature",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    # Not cached here: the home module's object is the one answer, also after a
    # test harness dropped and re-imported the module (pytester's inline runs do).
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
