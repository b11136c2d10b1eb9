"""User host functions: the one model for user code (plain Python callables a guest imports).

    api.py        declaring imports: `UserImports`, `@nonblocking`, `@wasm_signature`, the errors
    binding.py    each callable checked against the guest's import of its name; results checked
    call.py       what a host function sees: `GuestCall`, `current_call()`, the call's wait context
    thread.py     the host side of one guest thread: its worker, its exports, its report levels
    worker.py     the helper thread a guest thread's host functions run on
    session.py    the fiber side of one call: the state machine the guest's host call future steps
    run.py        `HostRun`: one execution's user imports (what `Runner` uses)
    sync/         the host sync objects (Lock, RLock, Semaphore, Event, Condition, Queue, sleep)
                  and `LockEvent`, the one event every host lock reports
    hostlock.py   `HostLock`, deprecated: a host lock for generator `HostFunction`s

Users import these names from `pytest_wasmconc.host` (or `pytest_wasmconc`).
The names below load on first use (module `__getattr__`): the sync objects
must stay importable without wasmtime, which the rest of this folder needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers
    from .api import (
        DEFAULT_BLOCKING_TIMEOUT,
        GuestCallError,
        GuestCallTrap,
        HostImportError,
        ImportsSpec,
        UserImports,
        nonblocking,
        wasm_signature,
    )
    from .call import GuestCall, current_call
    from .run import HostRun

_HOMES = {
    "api": ("DEFAULT_BLOCKING_TIMEOUT", "GuestCallError", "GuestCallTrap", "HostImportError", "ImportsSpec",
            "UserImports", "nonblocking", "wasm_signature"),
    "call": ("GuestCall", "current_call"),
    "run": ("HostRun",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "DEFAULT_BLOCKING_TIMEOUT", "GuestCall", "GuestCallError", "GuestCallTrap", "HostImportError", "HostRun",
    "ImportsSpec", "UserImports", "current_call", "nonblocking", "wasm_signature",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
