"""The pytest layer of pytest-wasmconc: small modules, one idea each; `pytest_wasmconc.plugin` wires them.

options     the --wasm-* options with their ini keys and env vars
markers     the wasm_* markers and their arguments
precedence  marker > CLI > env > ini > default (CLI seed/replay beat code)
scheduler   the wasm_scheduler fixture object (run, explore)
sandbox     the wasi_sandbox fixture object
guards      marker checks (wasm_no_hang, and the wiring for the others)
timeouts    ending guests before pytest-timeout acts
hardexit    what is written before pytest-timeout's thread method exits
distributed pytest-xdist: shared seed, shards, crashed-worker reports
reporting   header, report sections, replay commands, trace files
"""

from __future__ import annotations

from .errors import (
    GuestCheckError,
    GuestHangError,
    GuestLoadError,
    WasmconcWarning,
    WasmGuestFailure,
)
from .guards import GuestCheck, register_check
from .sandbox import WasiSandbox
from .scheduler import Shard, WasmScheduler

__all__ = [
    "GuestCheck", "GuestCheckError", "GuestHangError", "GuestLoadError", "Shard", "WasiSandbox",
    "WasmGuestFailure", "WasmScheduler", "WasmconcWarning", "register_check",
]
