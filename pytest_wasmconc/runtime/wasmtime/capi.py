"""Wasmtime's C API below wasmtime-py: raw function objects, the lane's addresses, store and linker helpers.

wasmtime-py 50 exposes async calls, async host functions, fuel yields and
epoch callbacks only as raw bindings, and two of those bindings are wrong (an
error return declared for a void function, fixed below; a shared memory wrapped
twice by `Linker.define`, worked around by `define_shared_memory`). The rest of this folder
builds on what is here: `calls` (call futures), `hostcalls` (async host
functions), `epochs` (epoch deadlines), `failures` (traps and errors),
`interrupts` (Ctrl-C inside native callbacks). Every native resource has
exactly one owner and one end of life; each module says which.

Importing this module hands the native lane (`_lane_c/`) Wasmtime's function
addresses, so the lane can run the scheduler's hot path without Python.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..hostapi import ValType
from ..lane import _lane

__all__ = [
    "NO_FINALIZER", "VALKIND", "VOID_P", "address_of", "begin_fuel_quantum", "check_error", "clone_linker",
    "define_shared_memory",
    "fuel_remaining", "own_function", "set_async_stack_size", "set_fuel_yield_interval", "set_store_key",
    "store_context",
]

# wasmtime-py declares an error return for this function, but the library
# returns void: reading the garbage return value as an error pointer
# segfaulted. The runtime yields through the epoch callback instead, but the
# function object is shared with wasmtime-py, so fixing its restype here
# protects any other caller in the process too.
ffi.dll.wasmtime_context_epoch_deadline_async_yield_and_update.restype = None

# wasmtime_valkind_t values (wasmtime/val.h); _ffi has them only as c_uint8 objects.
I32, I64, F32, F64 = 0, 1, 2, 3
_EXTERN_SHAREDMEMORY = 4
# The raw ctypes functions behind wasmtime-py's wrappers: the scheduler's hot
# path calls them directly (one Python frame less per call).
_raw_set_fuel = ffi.dll.wasmtime_context_set_fuel
_raw_get_fuel = ffi.dll.wasmtime_context_get_fuel
_raw_yield_interval = ffi.dll.wasmtime_context_fuel_async_yield_interval


def begin_fuel_quantum(context: Any, interval: int, reserve: int) -> None:
    """Yield after `interval` fuel, from a full reserve (fuel mode, once per quantum)."""
    err = _raw_yield_interval(context, interval)
    if err:
        check_error(err)
    err = _raw_set_fuel(context, reserve)
    if err:
        check_error(err)


def address_of(name: str) -> int:
    """The address of one of Wasmtime's C functions (for native code that calls it)."""
    address = ctypes.cast(getattr(ffi.dll, name), ctypes.c_void_p).value
    assert address is not None
    return address


def own_function(name: str, restype: Any, *argtypes: Any) -> Any:
    """A private foreign-function object for a hot-path C function, typed with plain addresses.

    wasmtime-py's function objects are shared (their argtypes must stay as they
    are) and take typed pointers, whose conversion costs more than the call
    itself; this one takes ints. It releases the GIL like any CDLL function.
    """
    return ctypes.CFUNCTYPE(restype, *argtypes)(address_of(name))


VOID_P = ctypes.c_void_p
NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()  # a NULL function pointer
_raw_store_context = own_function("wasmtime_store_context", VOID_P, VOID_P)
_raw_set_data = own_function("wasmtime_context_set_data", None, VOID_P, VOID_P)


_lane.init(*(address_of(name) for name in (
    "wasmtime_call_future_poll", "wasmtime_context_get_data", "wasmtime_caller_context", "wasmtime_global_get",
    "wasmtime_global_set", "wasmtime_trap_new", "wasmtime_error_delete", "wasmtime_sharedmemory_data_size",
    "wasmtime_sharedmemory_grow")))


def fuel_remaining(context: Any, out: Any) -> int:
    """The store's remaining fuel, read into the caller's c_uint64 `out`."""
    err = _raw_get_fuel(context, ctypes.byref(out))
    if err:
        check_error(err)
    return int(out.value)


VALKIND = {ValType.I32: I32, ValType.I64: I64, ValType.F32: F32, ValType.F64: F64}


def check_error(err: Any) -> None:
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)


def set_store_key(context: Any, key: int) -> None:
    """Tag a store with its guest thread's key (the slot's address: host calls find their thread by it).
    `context`: wasmtime-py's context pointer or its address (`store_context`)."""
    if type(context) is int:
        _raw_set_data(context, key)  # a kept instance's thread, once per schedule: no typed pointer
    else:
        ffi.wasmtime_context_set_data(context, ctypes.c_void_p(key))


def store_context(store: wasmtime.Store) -> int:
    """The address of a store's context (stable for the store's life)."""
    return _raw_store_context(store.ptr()) or 0


def set_fuel_yield_interval(context: Any, interval: int | None) -> None:
    err = ffi.wasmtime_context_fuel_async_yield_interval(context, interval or 0)
    check_error(err)


def set_async_stack_size(config: wasmtime.Config, size: int) -> None:
    ffi.wasmtime_config_async_stack_size_set(config.ptr(), size)


def define_shared_memory(
    linker: wasmtime.Linker, store: wasmtime.Store, module: str, name: str, memory: wasmtime.SharedMemory
) -> None:
    """Define a shared memory in a linker.

    wasmtime-py's own `Linker.define` wraps the pointer twice (wasmtime-py
    #318) and fails with a TypeError; build the extern correctly here.
    """
    union = ffi.wasmtime_extern_union(sharedmemory=memory.ptr())
    ext = ffi.wasmtime_extern_t(_EXTERN_SHAREDMEMORY, union)
    mod = module.encode()
    nm = name.encode()
    err = ffi.wasmtime_linker_define(
        linker.ptr(), store._context(), mod, len(mod), nm, len(nm), ctypes.byref(ext)
    )
    check_error(err)


def clone_linker(linker: wasmtime.Linker) -> wasmtime.Linker:
    """A copy of `linker` (host definitions are shared, new ones stay private)."""
    clone = wasmtime.Linker.__new__(wasmtime.Linker)
    clone._set_ptr(ffi.wasmtime_linker_clone(linker.ptr()))
    clone.engine = linker.engine
    return clone
