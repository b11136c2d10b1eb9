"""Call futures: an async call or instantiation in flight, polled until done, deleted exactly once.

A `CallFuture` owns its `wasmtime_call_future_t` and every buffer the future
writes into (results, trap, error, the func struct); it is deleted before its
Store. The native lane polls the same future by address in the hot path.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..hostapi import ValType
from .failures import NativeFailure, take_error, take_trap
from .interrupts import INTERRUPTED
from .capi import F32, F64, I32, I64, VALKIND, VOID_P, own_function, store_context

__all__ = [
    "CallFuture", "call_raw_async", "export_func", "export_global_bytes", "export_raw", "func_call_async",
    "instance_export", "instance_pre_instantiate_async", "pack_val", "signed",
]

raw_future_poll = own_function("wasmtime_call_future_poll", ctypes.c_bool, VOID_P)
# The hot path's calls (a guest thread's start and entry, twice per thread and schedule) go through
# these, typed with plain addresses: wasmtime-py's wrappers convert typed pointers, a Python frame each.
_raw_call_async = own_function("wasmtime_func_call_async", VOID_P, VOID_P, VOID_P, VOID_P, ctypes.c_size_t, VOID_P,
                               ctypes.c_size_t, VOID_P, VOID_P)
_raw_future_delete = own_function("wasmtime_call_future_delete", None, VOID_P)
_VAL = ffi.wasmtime_val_t
_VAL_SIZE = ctypes.sizeof(_VAL)
_TRAP_P = ctypes.POINTER(ffi.wasm_trap_t)
_ERROR_P = ctypes.POINTER(ffi.wasmtime_error_t)
# Passed for a call without arguments or results: Wasmtime reads and writes none of it.
_NO_VALUES = (_VAL * 1)()
# A wasmtime_val_t as bytes: the kind byte, padding, the value at offset 8 (host calls' results too).
VAL_FORMATS = {ValType.I32: struct.Struct("<B7xi"), ValType.I64: struct.Struct("<B7xq"),
               ValType.F32: struct.Struct("<B7xf"), ValType.F64: struct.Struct("<B7xd")}

class CallFuture:
    """One in-flight async call or instantiation; poll until `done`, then `close`.

    Invariant: the native future is polled only while not done (polling a
    completed future aborts the process) and deleted exactly once, before the
    store it runs in is deleted.
    """

    __slots__ = ("_address", "_error", "_future", "_keep", "_nresults", "_trap", "done", "failure", "results")

    def __init__(self) -> None:
        self._future: Any = None
        self._address = 0  # of the native future, taken at the first poll
        self._keep: tuple[Any, ...] = ()
        self._trap = _TRAP_P()
        self._error = _ERROR_P()
        self.results: Any = None
        self._nresults = 0
        self.done = False
        self.failure: NativeFailure | None = None

    def native_address(self) -> int:
        """The native future's address (0 before it is started or after `close`)."""
        address = self._address
        if not address and self._future is not None:
            address = self._address = ctypes.cast(self._future, ctypes.c_void_p).value or 0
        return address

    def poll(self) -> bool:
        """Run until the next yield; True once the call has finished."""
        if self.done:
            raise RuntimeError("internal error: polling a finished call future")
        address = self._address or self.native_address()
        if not address:
            raise RuntimeError("internal error: polling a call future that was never started")
        return self.settle(raw_future_poll(address))

    def settle(self, finished: bool) -> bool:
        """After a poll (this one's or the native lane's): note the outcome, re-raise a Ctrl-C."""
        if INTERRUPTED[0]:
            INTERRUPTED[0] = False
            if finished:
                self.done = True
            raise KeyboardInterrupt
        if finished:
            self.done = True
            # Copy the outcome out now, so nothing later reads native buffers.
            if self._trap:
                self.failure = take_trap(self._trap)
                self._trap = _TRAP_P()
            elif self._error:
                self.failure = take_error(self._error)
                self._error = _ERROR_P()
            return True
        return False

    def close(self) -> None:
        """Delete the native future (idempotent). Pending host calls are finalized by Wasmtime."""
        fut, self._future = self._future, None
        self._address = 0
        if fut is not None:
            if type(fut) is int:  # started by call_raw_async: the address
                _raw_future_delete(fut)
            else:
                ffi.wasmtime_call_future_delete(fut)
        self._keep = ()

    def result_values(self) -> list[int | float]:
        out: list[int | float] = []
        for i in range(self._nresults):
            v = self.results[i]
            kind = v.kind
            if kind == I32:
                out.append(v.of.i32)
            elif kind == I64:
                out.append(v.of.i64)
            elif kind == F32:
                out.append(v.of.f32)
            elif kind == F64:
                out.append(v.of.f64)
            else:
                raise TypeError("only numeric results are supported")
        return out


def pack_val(buffer: Any, index: int, t: ValType, v: float) -> None:
    """Write `v` as a value of type `t` (integers wrapped to their width) into element `index` of the
    wasmtime_val_t array `buffer`."""
    if t is ValType.I32:
        v = signed(int(v) & 0xFFFF_FFFF, 32)
    elif t is ValType.I64:
        v = signed(int(v) & 0xFFFF_FFFF_FFFF_FFFF, 64)
    else:
        v = float(v)
    VAL_FORMATS[t].pack_into(buffer, index * _VAL_SIZE, VALKIND[t], v)


def signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


def func_call_async(
    store: wasmtime.Store, func: wasmtime.Func, args: Sequence[tuple[ValType, int | float]], nresults: int
) -> CallFuture:
    return call_raw_async(store, func._func, args, nresults, keep=func)


def call_raw_async(store: wasmtime.Store, raw_func: Any, args: Sequence[tuple[ValType, int | float]],
                   nresults: int, keep: Any = None, *, context: int | None = None) -> CallFuture:
    """Start calling the `wasmtime_func_t` struct `raw_func` (an export of `store`'s instance). `context`: the
    store's context address (capi.store_context), when the caller has it."""
    fut = CallFuture()
    n = len(args)
    if n:
        arg_arr: Any = (_VAL * n)()
        for i, (t, v) in enumerate(args):
            pack_val(arg_arr, i, t, v)
    else:
        arg_arr = _NO_VALUES
    res_arr: Any = (_VAL * nresults)() if nresults else _NO_VALUES
    fut.results = res_arr
    fut._nresults = nresults
    if context is None:
        context = store_context(store)
    address = _raw_call_async(context, ctypes.addressof(raw_func), ctypes.addressof(arg_arr), n,
                              ctypes.addressof(res_arr), nresults, ctypes.addressof(fut._trap),
                              ctypes.addressof(fut._error))
    if not address:
        raise RuntimeError("internal error: Wasmtime returned no call future")
    fut._future = fut._address = address
    fut._keep = (store, keep, raw_func, arg_arr, res_arr)
    return fut


def instance_pre_instantiate_async(pre: wasmtime.InstancePre, store: wasmtime.Store) -> tuple[CallFuture, Any]:
    """Start instantiating; the returned `wasmtime_instance_t` is filled when the future is done."""
    fut = CallFuture()
    inst = ffi.wasmtime_instance_t()
    fut._future = ffi.wasmtime_instance_pre_instantiate_async(
        pre.ptr(), store._context(), ctypes.byref(inst), ctypes.byref(fut._trap), ctypes.byref(fut._error)
    )
    fut._keep = (pre, store, inst)
    return fut, inst


def instance_export(store: wasmtime.Store, raw_instance: Any, name: str) -> Any:
    """Look up one export of a raw `wasmtime_instance_t` as a wasmtime-py object (or None).

    One native lookup by name; wasmtime-py's `Instance.exports()` would build
    a map of every export first.
    """
    from wasmtime._extern import wrap_extern

    raw_name = name.encode()
    item = ffi.wasmtime_extern_t()
    found = ffi.wasmtime_instance_export_get(store._context(), ctypes.byref(raw_instance), raw_name,
                                             len(raw_name), ctypes.byref(item))
    return wrap_extern(item) if found else None


_raw_export_get = own_function("wasmtime_instance_export_get", ctypes.c_bool, VOID_P, VOID_P, ctypes.c_char_p,
                                 ctypes.c_size_t, VOID_P)
_EXTERN_FUNC, _EXTERN_GLOBAL = 0, 1


def export_raw(context: int, raw_instance: Any, name: bytes) -> Any:
    """One export as a raw `wasmtime_extern_t` (or None): no wasmtime-py objects, for per-thread set-up."""
    item = ffi.wasmtime_extern_t()
    if not _raw_export_get(context, ctypes.addressof(raw_instance), name, len(name), ctypes.addressof(item)):
        return None
    return item


def export_func(context: int, raw_instance: Any, name: bytes) -> Any:
    """A function export's `wasmtime_func_t` struct, or None (absent, or not a function)."""
    item = export_raw(context, raw_instance, name)
    return item.of.func if item is not None and item.kind == _EXTERN_FUNC else None


def export_global_bytes(context: int, raw_instance: Any, name: bytes) -> bytes | None:
    """A global export's `wasmtime_global_t` handle, copied, or None (absent, or not a global)."""
    item = export_raw(context, raw_instance, name)
    if item is None or item.kind != _EXTERN_GLOBAL:
        return None
    raw = item.of.global_
    return ctypes.string_at(ctypes.addressof(raw), ctypes.sizeof(raw))
