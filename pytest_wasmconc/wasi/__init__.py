"""A WASI preview1 host shared by every thread of a threaded guest.

One fd table and one set of preopens for the whole guest (wasmtime's own
WASI is per-Store, so per-thread under wasi-threads), safe under real
parallelism, with all nondeterminism (clocks, randomness, blocking stdin)
routed through the runtime's `HostCall` so that deterministic runs replay.

    wasi = WasiPreview1(WasiConfig(args=["prog"], preopens=[Preopen(tmp, ".")]))
    runtime.link(wasi.functions())
"""

from __future__ import annotations

from .config import Preopen, StdinSpec, WasiConfig, WasiConfigError
from .errno import Errno, WasiError
from .faults import FaultPlan
from .preview1 import WasiPreview1
from .signatures import MODULE, SIGNATURES
from .trace import TraceEntry

__all__ = [
    "MODULE",
    "SIGNATURES",
    "Errno",
    "FaultPlan",
    "Preopen",
    "StdinSpec",
    "TraceEntry",
    "WasiConfig",
    "WasiConfigError",
    "WasiError",
    "WasiPreview1",
]
