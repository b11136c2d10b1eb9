"""The runtime core of pytest-wasmconc: usable without pytest (and never imports it).

Load a guest, run it once under a preemption mode and a scheduling policy,
explore many schedules, replay a schedule from its token.
"""

from __future__ import annotations

from .affinity import StoreThreadError, ThreadAffineStore
from .cache import CompileCache, default_cache_dir
from .engine import engine_for, wasmtime_version
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
from .hostlocks import HostLock, HostLockEvent
from .outcome import Outcome, Status, ThreadReport
from .program import Program, load_program
from .runner import Exploration, GuestIO, Runner
from .settings import EngineSettings, Preempt, RunSettings
from .token import ReplayToken, decode_token, encode_token

__all__ = [
    "CompileCache", "ConfigError", "EngineSettings", "Exploration", "GuestExit", "GuestIO", "GuestTrap",
    "HostCall", "HostFunction", "HostLock", "HostLockEvent", "ModuleError", "Outcome", "Preempt", "Program",
    "ReplayError", "ReplayToken",
    "RunSettings", "Runner", "Sleep", "Status", "StoreThreadError", "ThreadAffineStore", "ThreadReport",
    "Until", "ValType", "Wait", "WaitResult", "WasmconcError", "Yield", "decode_token", "default_cache_dir",
    "encode_token", "engine_for", "host", "load_program", "wasmtime_version",
]
