"""The runtime core of pytest-wasmconc: usable without pytest (and never imports it).

Load a guest, run it once under a preemption mode and a scheduling policy,
explore many schedules, replay a schedule from its token.

Names load on first use: importing one light module of the package (the
settings, the errors) must not load wasmtime and the whole runtime, or
every pytest process with the plugin installed would pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_names import lazy_names

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers
    from .machine.affinity import StoreThreadError, ThreadAffineStore
    from .loading.cache import CompileCache, default_cache_dir
    from .loading.engine import engine_for
    from .errors import ConfigError, ModuleError, ReplayError, WasmconcError
    from .hostapi import (
        GuestExit,
        GuestTrap,
        HostCall,
        HostFunction,
        Sleep,
        Until,
        ValType,
        Wait,
        WaitResult,
        Yield,
        host,
    )
    from .userhost.hostlock import HostLock, HostLockEvent
    from .outcome import Outcome, Status, ThreadReport
    from .loading.program import Program, load_program
    from .runner import Exploration, GuestIO, Runner
    from .settings import EngineSettings, Preempt, RunSettings
    from .token import ReplayToken, decode_token, encode_token
    from .version import wasmtime_version

_HOMES = {
    "machine.affinity": ("StoreThreadError", "ThreadAffineStore"),
    "loading.cache": ("CompileCache", "default_cache_dir"),
    "loading.engine": ("engine_for",),
    "errors": ("ConfigError", "ModuleError", "ReplayError", "WasmconcError"),
    "hostapi": ("GuestExit", "GuestTrap", "HostCall", "HostFunction", "Sleep", "Until", "ValType", "Wait",
                "WaitResult", "Yield", "host"),
    "userhost.hostlock": ("HostLock", "HostLockEvent"),
    "outcome": ("Outcome", "Status", "ThreadReport"),
    "loading.program": ("Program", "load_program"),
    "runner": ("Exploration", "GuestIO", "Runner"),
    "settings": ("EngineSettings", "Preempt", "RunSettings"),
    "token": ("ReplayToken", "decode_token", "encode_token"),
    "version": ("wasmtime_version",),
}

__all__ = [
    "CompileCache", "ConfigError", "EngineSettings", "Exploration", "GuestExit", "GuestIO", "GuestTrap", "HostCall",
    "HostFunction", "HostLock", "HostLockEvent", "ModuleError", "Outcome", "Preempt", "Program", "ReplayError",
    "ReplayToken", "RunSettings", "Runner", "Sleep", "Status", "StoreThreadError", "ThreadAffineStore",
    "ThreadReport", "Until", "ValType", "Wait", "WaitResult", "WasmconcError", "Yield", "decode_token",
    "default_cache_dir", "encode_token", "engine_for", "host", "load_program", "wasmtime_version",
]
# (a literal for linters and readers; tests/test_public_api.py checks it against _HOMES)


__getattr__, __dir__ = lazy_names(__name__, _HOMES, eager=__all__)
