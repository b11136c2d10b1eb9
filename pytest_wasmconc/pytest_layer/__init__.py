"""The pytest layer of pytest-wasmconc: small modules, one idea each; `pytest_wasmconc.plugin` wires them.

options     the --wasm-* options with their ini keys and env vars
markers     the wasm_* markers and their arguments
precedence  marker > CLI > env > ini > default (CLI seed/replay beat code)
scheduler   the wasm_scheduler fixture object (run, explore)
sandbox     the wasi_sandbox fixture object
guards      which marker adds which check (the registry of the wasm_* check markers)
marked      a check's failure turned into the test's exception, named after its marker
legacy_checks  0.1 GuestChecks, run for one release with a DeprecationWarning
timeouts    ending guests before pytest-timeout acts
hardexit    what is written before pytest-timeout's thread method exits
distributed pytest-xdist: shared seed, shards, crashed-worker reports
reporting   header, report sections, replay commands, trace files
timeline_files  the timelines --wasm-trace-dir gets: recorded or retraced, written beside the trace files
records     what a test's guest executions ended with, kept on the item
expectation what a run()/explore() call expects of each execution (no silent passes)
memory      failure memory: failing schedules in pytest's cache, replayed first next time
statistics  --wasm-statistics: each wasm test's figures in the terminal summary
reportdata  what a wasm test's call report carries (memory, statistics, JUnit properties)
crashlog    the crash log: what each test process runs, in a file that outlives it
crashrunner the runner that writes each guest execution of a test into the crash log
state       the plugin's per-session state in config.stash
errors      the exceptions and the warning a test sees
hostimports the wasm_imports fixture's value turned into host functions
lock_inversion, stream_sequence   the wasm_no_lock_inversion and wasm_stream_sequence markers read
no_data_race  the wasm_no_data_race marker read (its RaceCheck, suppress=)

The names below are imported on first use (module `__getattr__`): pytest loads the
plugin in every session, and these pull in the runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import (
        GuestCheckError,
        GuestHangError,
        GuestLoadError,
        GuestOutcomeError,
        WasmconcWarning,
        WasmGuestFailure,
    )
    from .guards import GuestCheck, register_check
    from .sandbox import WasiSandbox
    from .scheduler import Shard, WasmScheduler

__all__ = [
    "GuestCheck", "GuestCheckError", "GuestHangError", "GuestLoadError", "GuestOutcomeError", "Shard", "WasiSandbox",
    "WasmGuestFailure", "WasmScheduler", "WasmconcWarning", "register_check",
]

_HOME = {
    "GuestCheck": "guards", "register_check": "guards", "WasiSandbox": "sandbox", "Shard": "scheduler",
    "WasmScheduler": "scheduler", "GuestCheckError": "errors", "GuestHangError": "errors",
    "GuestLoadError": "errors", "GuestOutcomeError": "errors", "WasmGuestFailure": "errors",
    "WasmconcWarning": "errors",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    # Not cached here: the home module's object is the one answer, also after a
    # test harness dropped and re-imported the module (pytester's inline runs do).
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
