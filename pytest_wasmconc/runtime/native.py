"""Native host functions: an import implemented by a C function that Wasmtime calls without Python.

A check whose import runs at every memory access cannot afford a Python call
(about a microsecond) each time. It provides a `NativeHostFunction` instead
of a `HostFunction`: the address of a C function of Wasmtime's unchecked
type and an `env` pointer for it,

    wasm_trap_t *callback(void *env, wasmtime_caller_t *caller,
                          wasmtime_val_raw_t *args_and_results, size_t n);

which the execution defines in its own copy of the program's linker
(`Execution.link`), so each execution's calls reach its own `env`; an
exploration that keeps the linker and its instances (machine/reuse.py)
defines it through a `NativeCell` instead, which each execution that
reuses them points at its own callback and `env` before it runs. The
callback runs on the guest thread's OS thread, concurrently in os mode, and
must not block, call back into the guest, or touch Python objects without
taking the GIL. It returns NULL, or a trap (made with `NATIVE_API["trap_new"]`)
that stops the calling thread. The arguments arrive as 16-byte raw values
(an i32 at offset 0 of its slot, an i64 likewise); results are written over
them.

What the callback may ask about its caller, as C function addresses
(`NATIVE_API`): `caller_thread_id(caller) -> int64_t` (the wasi-threads id,
-1 when the caller is not a live guest thread), `caller_memory_size(caller)
-> uint64_t` (the size of the execution's shared memory now, as the guest sees it:
its virtual size when the guest was loaded with one, instrument/vmem.py; UINT64_MAX
when there is none) and Wasmtime's own `trap_new(const char *msg, size_t len)`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from .hostapi import HostFunction
from .lane import _lane
from .wasmtime import capi, hostcalls

__all__ = ["NATIVE_API", "NativeCell", "NativeHostFunction", "define_native_imports", "native_signature",
           "rebind_native_imports"]

NATIVE_API: dict[str, int] = {
    "caller_thread_id": _lane.CALLER_THREAD_ID,
    "caller_memory_size": _lane.CALLER_MEMORY_SIZE,
    "trap_new": capi.address_of("wasmtime_trap_new"),
}


def _called_through_python(call: Any, *args: Any) -> None:
    raise RuntimeError("wasmconc: internal error: a native host function was called through Python")


@dataclass(frozen=True)
class NativeHostFunction(HostFunction):
    """A `HostFunction` whose calls go to the C function at `callback` with `env` (module docstring).

    `owner` is whatever keeps `env` valid (the Python object around it): the
    execution holds it as long as the guest can call the function.
    """

    impl: Any = field(default=_called_through_python, compare=False)
    callback: int = 0
    env: int = 0
    owner: object = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.callback:
            raise ValueError(f"native host function {self.module}.{self.name}: no callback address")


class NativeCell(ctypes.Structure):
    """Where a native host function's callback and env are read at each call when it was defined through
    a cell (_lane CELL_HOST): an exploration's kept linker and instances serve every execution that reuses
    them (machine/reuse.py), each with its own env, written here before it runs."""

    _fields_ = [("callback", ctypes.c_void_p), ("env", ctypes.c_void_p)]


NativeCells = dict[tuple[str, str], NativeCell]


def native_signature(functions: Iterable[HostFunction]) -> tuple[tuple[Any, ...], ...]:
    """What a linker defined through cells serves: each native function's import, type and callback."""
    return tuple(sorted((hf.module, hf.name, hf.params, hf.results, hf.callback)
                        for hf in functions if isinstance(hf, NativeHostFunction)))


def define_native_imports(linker: wasmtime.Linker, functions: Iterable[HostFunction],
                          cells: NativeCells | None = None) -> None:
    """Define each `NativeHostFunction` among `functions` in `linker` (an execution's own copy), over
    the Python routing the program's linker has for that import; through a cell each (filled in `cells`,
    which must then live as long as the linker and its instances) for a linker an exploration keeps."""
    for hf in functions:
        if not isinstance(hf, NativeHostFunction):
            continue
        if cells is None:
            hostcalls.define_unchecked_host(linker, hf.module, hf.name, hf.params, hf.results, hf.callback, hf.env)
            continue
        cell = cells[(hf.module, hf.name)] = NativeCell(hf.callback, hf.env)
        hostcalls.define_unchecked_host(linker, hf.module, hf.name, hf.params, hf.results, _lane.CELL_HOST,
                                        ctypes.addressof(cell))


def rebind_native_imports(cells: NativeCells, functions: Iterable[HostFunction]) -> None:
    """Point the cells of a kept linker at this execution's own native functions (same signature)."""
    for hf in functions:
        if isinstance(hf, NativeHostFunction):
            cell = cells[(hf.module, hf.name)]
            cell.callback, cell.env = hf.callback, hf.env
