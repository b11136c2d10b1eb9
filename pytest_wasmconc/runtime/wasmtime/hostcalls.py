"""Async host functions: one C trampoline for every Python host call, and the registries behind it.

Host functions go through ONE C trampoline (_lane_c/host.c's python_host)
that calls `_host_call`; it lives as long as the process. The `env` pointer
is an integer key into `_BINDINGS`; the finalizer Wasmtime runs when the
linker dies drops the key. A pending host call (a generator that yielded a
`Wait`) is a `Pending` registered under another key; its continuation
resumes the generator and its finalizer (run by Wasmtime when the future is
deleted early) closes it. The instrumenter's hottest imports are the native
lane's own functions (`define_native_host`): no Python at all.
"""

from __future__ import annotations

import ctypes
import itertools
import struct
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import wasmtime
from wasmtime import _ffi as ffi

from ..hostapi import ValType
from ..lane import _lane
from .calls import VAL_FORMATS, pack_val, signed
from .interrupts import callback_failure
from .capi import F32, F64, I32, I64, NO_FINALIZER, VOID_P, check_error, own_function

__all__ = [
    "Binding", "HostDispatcher", "Pending", "TrapRequest", "YieldAfter", "define_async_host", "define_native_host",
    "define_unchecked_host",
    "set_trap", "trap_request", "write_results",
]

raw_trap_new = own_function("wasmtime_trap_new", VOID_P, ctypes.c_char_p, ctypes.c_size_t)

class HostDispatcher(Protocol):
    """What the runtime gives the native layer to route a host call."""

    def invoke(self, store_key: int, binding: Binding, args: list[int | float]) -> Any:
        """Run the host function; return results, or a generator for a blocking call."""
        ...

    def resume(self, pending: Pending) -> bool:
        """Advance a blocked call; True when it has finished (results or trap written)."""
        ...

    def arm_yield(self, store_key: int, trap_ret: int, continuation: int) -> None:
        """Make the host call suspend once at the continuation address (after a YieldAfter)."""
        ...


@dataclass
class Binding:
    module: str
    name: str
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    impl: Any  # how the dispatcher finds the implementation (the import key)
    dispatcher: HostDispatcher
    # The arguments' layout in Wasmtime's wasmtime_val_t array, read in one go.
    args_reader: _ArgsReader = field(init=False)

    def __post_init__(self) -> None:
        self.args_reader = _ArgsReader(self.params)


class _ArgsReader:
    """Reads a host call's arguments straight out of the `wasmtime_val_t` array.

    Each value is a 32-byte struct (kind, padding, then the union at offset 8);
    Wasmtime has checked the kinds against the import's type, so the union
    is read as that type. i32 and i64 come out unsigned, as the host API wants.
    """

    _CODES = {ValType.I32: "I", ValType.I64: "Q", ValType.F32: "f", ValType.F64: "d"}

    __slots__ = ("_buffer_type", "_format")

    def __init__(self, params: tuple[ValType, ...]) -> None:
        size = ctypes.sizeof(ffi.wasmtime_val_t)
        union = ffi.wasmtime_val_t.of.offset
        fmt = "<"
        for t in params:
            code = self._CODES[t]
            fmt += f"{union}x{code}{size - union - struct.calcsize('<' + code)}x"
        self._format = struct.Struct(fmt)
        self._buffer_type = ctypes.c_char * max(1, size * len(params))

    def read(self, address: int) -> list[int | float]:
        return list(self._format.unpack_from(self._buffer_type.from_address(address)))


class Pending:
    """A blocked host call: the generator plus where its results and trap go.

    Owned by `_PENDING` from the host callback until the continuation reports
    completion or Wasmtime runs the finalizer (the future was deleted first).
    """

    __slots__ = ("binding", "gen", "key", "results_ptr", "send_value", "state", "store_key", "trap_ret")

    def __init__(self, key: int, binding: Binding, gen: Generator[Any, Any, Any], results_ptr: int,
                 trap_ret: int, store_key: int) -> None:
        self.key = key
        self.binding = binding
        self.gen = gen
        self.results_ptr = results_ptr
        self.trap_ret = trap_ret
        self.store_key = store_key
        self.send_value: Any = None
        self.state: Any = None  # the runtime's bookkeeping for the wait in progress

    def write_results(self, values: Any) -> None:
        write_results(self.binding, self.results_ptr, values)

    def write_trap(self, message: str) -> None:
        set_trap(self.trap_ret, message)


_BINDINGS: dict[int, Binding] = {}
_PENDING: dict[int, Pending] = {}
_keys = itertools.count(1)
_lock = threading.Lock()  # guards the two registries under OS-thread mode (the C finalizers drop one key under the GIL)


# wasmtime_val_t: the kind byte, padding, the value at offset 8 (see _ArgsReader).
_VAL_BYTES = ctypes.c_char * 16
_I32_VAL, _I64_VAL = VAL_FORMATS[ValType.I32], VAL_FORMATS[ValType.I64]
_F32_VAL, _F64_VAL = VAL_FORMATS[ValType.F32], VAL_FORMATS[ValType.F64]


def set_trap(trap_ret: int, message: str) -> None:
    """Make a host call trap: store a new trap in the `wasm_trap_t **` at address `trap_ret`."""
    raw = message.encode()
    ctypes.c_void_p.from_address(trap_ret).value = raw_trap_new(raw, len(raw))


def write_results(binding: Binding, results_address: int, values: Any) -> None:
    """Write a host function's results into the `wasmtime_val_t` array at `results_address`."""
    rtypes = binding.results
    if not rtypes:
        if values is not None and values != ():
            raise TypeError(f"host function {binding.module}.{binding.name} returned a value but has no results")
        return
    if len(rtypes) == 1:
        if isinstance(values, (tuple, list)):
            if len(values) != 1:
                raise TypeError(f"host function {binding.module}.{binding.name} must return 1 value")
            values = values[0]
        if values is None:
            raise TypeError(f"host function {binding.module}.{binding.name} returned None, expected {rtypes[0].value}")
        t = rtypes[0]
        # One struct pack into Wasmtime's array: kind byte, then the union at offset 8.
        cell = _VAL_BYTES.from_address(results_address)
        if t is ValType.I32:
            _I32_VAL.pack_into(cell, 0, I32, signed(int(values) & 0xFFFF_FFFF, 32))
        elif t is ValType.I64:
            _I64_VAL.pack_into(cell, 0, I64, signed(int(values) & 0xFFFF_FFFF_FFFF_FFFF, 64))
        elif t is ValType.F32:
            _F32_VAL.pack_into(cell, 0, F32, float(values))
        else:
            _F64_VAL.pack_into(cell, 0, F64, float(values))
        return
    if not isinstance(values, (tuple, list)) or len(values) != len(rtypes):
        raise TypeError(f"host function {binding.module}.{binding.name} must return {len(rtypes)} values")
    out = (ffi.wasmtime_val_t * len(rtypes)).from_address(results_address)
    for i, (t, v) in enumerate(zip(rtypes, values)):
        pack_val(out, i, t, v)


def _resume_pending(key: int) -> bool:
    """A pending host call's continuation (called from _lane_c/host.c): True once it has finished."""
    pending = _PENDING.get(key)
    if pending is None:  # already finished; Wasmtime will not ask again
        return True
    try:
        finished = pending.binding.dispatcher.resume(pending)
    except BaseException as exc:  # never let a Python exception unwind into Rust
        pending.write_trap(callback_failure(exc, "resuming host call"))
        finished = True
    if finished:
        with _lock:
            _PENDING.pop(pending.key, None)
    return finished


def _finalize_pending(key: int) -> None:
    """The future was deleted while a host call was pending (called from _lane_c/host.c)."""
    with _lock:
        pending = _PENDING.pop(key, None)
    if pending is not None:
        try:
            pending.gen.close()
        except BaseException:
            pass


def _host_call(env: int, store_key: int, args: int, nargs: int, results: int, trap_ret: int, cont_ret: int) -> int:
    """Every Python host call (entered from _lane_c/host.c): 0 when done, else the key of a pending call.

    The store key comes from the caller's store data, so a call finds its
    thread even inside nested futures.
    """
    binding = _BINDINGS[env]
    try:
        outcome = binding.dispatcher.invoke(store_key, binding, binding.args_reader.read(args) if nargs else [])
        kind = type(outcome)
        # The common answers first, by exact type: isinstance against the
        # Generator ABC costs more than the rest of this function.
        if kind is YieldAfter:
            write_results(binding, results, outcome.value)
            # The native continuation of _lane_c/host.c suspends the call once.
            binding.dispatcher.arm_yield(store_key, trap_ret, cont_ret)
            return 0
        if kind is not int and kind is not float and outcome is not None and isinstance(outcome, Generator):
            key = next(_keys)
            pending = Pending(key, binding, outcome, results, trap_ret, store_key)
            with _lock:
                _PENDING[key] = pending
            return key
        if kind is TrapRequest:
            set_trap(trap_ret, outcome.message)
        else:
            write_results(binding, results, outcome)
    except BaseException as exc:  # the dispatcher handles user errors; this is a last resort
        set_trap(trap_ret, callback_failure(exc, f"in host call {binding.module}.{binding.name}"))
    return 0


_lane.set_python_host(_host_call, _resume_pending, _finalize_pending)
# A binding's finalizer (Wasmtime runs it when the last linker or store defining the function goes)
# is C that drops the key from _BINDINGS: a ctypes callback was freed with this module's globals at
# interpreter shutdown, before a cached program's linker went, and Wasmtime called freed memory.
_lane.set_bindings(_BINDINGS)
_BINDING_FINALIZER = ctypes.cast(ctypes.c_void_p(_lane.BINDING_FINALIZER), type(NO_FINALIZER))
_NATIVE_BINDING_FINALIZER = ctypes.cast(ctypes.c_void_p(_lane.NATIVE_BINDING_FINALIZER), type(NO_FINALIZER))
_HOST_TRAMPOLINE = ctypes.cast(ctypes.c_void_p(_lane.PYTHON_HOST), ffi.wasmtime_func_async_callback_t)
_NATIVE_HOST = ctypes.cast(ctypes.c_void_p(_lane.NATIVE_HOST), ffi.wasmtime_func_async_callback_t)


@dataclass(frozen=True)
class TrapRequest:
    message: str


class YieldAfter:
    """What a dispatcher returns from `invoke` for "results now, then one scheduling point".

    The cheap form of a generator that yields `Yield()` once: the results are
    written at once and the continuation only suspends the call for one poll
    (spawn, notify and the instrumenter's sched_point use it on every call).
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def trap_request(message: str) -> TrapRequest:
    """What a dispatcher returns from `invoke` to trap the calling thread at once."""
    return TrapRequest(message)


def define_async_host(
    linker: wasmtime.Linker,
    module: str,
    name: str,
    params: tuple[ValType, ...],
    results: tuple[ValType, ...],
    impl: Any,
    dispatcher: HostDispatcher,
    native: int = 0,
) -> None:
    """Define one async host function in `linker`, routed through `dispatcher`.

    `impl` is whatever the dispatcher needs to find the implementation (the
    runtime passes the import's (module, name) key). `native` (a _lane.HOST_*
    kind) enters through the native lane's own function first, which takes
    the cases it can and hands the rest to this binding.
    """
    key = next(_keys)
    binding = Binding(module, name, params, results, impl, dispatcher)
    with _lock:
        _BINDINGS[key] = binding
    functype = wasmtime.FuncType(
        [_valtype(t) for t in params], [_valtype(t) for t in results]
    )
    mod = module.encode()
    nm = name.encode()
    if native:
        callback, env, finalizer = _NATIVE_HOST, key << 8 | native, _NATIVE_BINDING_FINALIZER
    else:
        callback, env, finalizer = _HOST_TRAMPOLINE, key, _BINDING_FINALIZER
    err = ffi.wasmtime_linker_define_async_func(
        linker.ptr(), mod, len(mod), nm, len(nm), functype.ptr(), callback, env, finalizer,
    )
    # Keep the FuncType alive until after the call: passing `.ptr()` of a
    # temporary segfaulted: the FuncType was freed before Wasmtime read it.
    del functype
    if err:
        with _lock:
            _BINDINGS.pop(key, None)
        check_error(err)


def define_native_host(linker: wasmtime.Linker, module: str, name: str, params: tuple[ValType, ...],
                       native: int) -> None:
    """Define `module.name` as one of the native lane's own host functions (`native`: _lane.HOST_*).

    They run without Python: the instrumenter's preemption check and
    scheduling point are the hottest host calls there are.
    """
    functype = wasmtime.FuncType([_valtype(t) for t in params], [])
    mod = module.encode()
    nm = name.encode()
    err = ffi.wasmtime_linker_define_async_func(linker.ptr(), mod, len(mod), nm, len(nm), functype.ptr(),
                                                _NATIVE_HOST, native, NO_FINALIZER)
    del functype  # alive until after the call (see define_async_host)
    check_error(err)


def define_unchecked_host(linker: wasmtime.Linker, module: str, name: str, params: tuple[ValType, ...],
                          results: tuple[ValType, ...], callback: int, env: int) -> None:
    """Define `module.name` as a synchronous C function of Wasmtime's unchecked type (runtime/native.py).

    Wasmtime calls it directly with raw values: no future, no Python. It may
    not suspend, so it suits host functions that never block (a check's
    reports); it shadows a definition of the same name already in `linker`.
    """
    functype = wasmtime.FuncType([_valtype(t) for t in params], [_valtype(t) for t in results])
    mod = module.encode()
    nm = name.encode()
    cb = ctypes.cast(ctypes.c_void_p(callback), ffi.wasmtime_func_unchecked_callback_t)
    err = ffi.wasmtime_linker_define_func_unchecked(linker.ptr(), mod, len(mod), nm, len(nm), functype.ptr(), cb,
                                                    env, NO_FINALIZER)
    del functype  # alive until after the call (see define_async_host)
    check_error(err)


def _valtype(t: ValType) -> wasmtime.ValType:
    return {
        ValType.I32: wasmtime.ValType.i32,
        ValType.I64: wasmtime.ValType.i64,
        ValType.F32: wasmtime.ValType.f32,
        ValType.F64: wasmtime.ValType.f64,
    }[t]()
