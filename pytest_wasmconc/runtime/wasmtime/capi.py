"""The ctypes layer over Wasmtime's C API that wasmtime-py does not wrap.

wasmtime-py 50 exposes async calls, async host functions, fuel yields and
epoch callbacks only as raw bindings, and two of those bindings are wrong (see
../shared/docs/wasmtime-facts.md). Everything native lives here, each resource
with exactly one owner and one end of life:

* `CallFuture` owns a `wasmtime_call_future_t` plus every buffer the future
  writes into (results, trap, error, the func struct). It is polled until done
  and deleted exactly once, always before its Store.
* Host functions go through ONE C trampoline (_lane_c/host.c's python_host) that
  calls `_host_call`; it lives as long as the process. The `env` pointer is
  an integer key into `_BINDINGS`; the finalizer Wasmtime runs when the
  linker dies drops the key.
* A pending host call (a generator that yielded a `Wait`) is a `_Pending`
  registered under another key; its continuation callback resumes the
  generator and its finalizer (run by Wasmtime when the future is deleted
  early) closes it.
* The scheduler's hot path is native (`_lane_c/`): the instrumenter's
  preemption check and scheduling point are C host functions, a YieldAfter
  suspends through a C continuation, and the serial driver's common steps
  run in C. This module hands it Wasmtime's function addresses.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import signal
import struct
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import wasmtime
from wasmtime import _ffi as ffi

from ..lane import _lane
from ..hostapi import ValType

__all__ = [
    "CallFuture",
    "HostDispatcher",
    "call_raw_async",
    "export_func",
    "export_global_bytes",
    "NativeFailure",
    "define_async_host",
    "define_native_host",
    "define_shared_memory",
    "func_call_async",
    "instance_export",
    "instance_pre_instantiate_async",
    "set_async_stack_size",
    "set_fuel_yield_interval",
    "set_store_key",
    "trap_frames",
]

# wasmtime-py declares an error return for this function, but the library
# returns void: reading the garbage return value as an error pointer
# segfaulted. The runtime yields through the epoch callback instead, but the
# function object is shared with wasmtime-py, so fixing its restype here
# protects any other caller in the process too.
ffi.dll.wasmtime_context_epoch_deadline_async_yield_and_update.restype = None

# wasmtime_valkind_t values (wasmtime/val.h); _ffi has them only as c_uint8 objects.
_I32, _I64, _F32, _F64 = 0, 1, 2, 3
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
        _check_error(err)
    err = _raw_set_fuel(context, reserve)
    if err:
        _check_error(err)


def _address_of(name: str) -> int:
    address = ctypes.cast(getattr(ffi.dll, name), ctypes.c_void_p).value
    assert address is not None
    return address


def _own_function(name: str, restype: Any, *argtypes: Any) -> Any:
    """A private foreign-function object for a hot-path C function, typed with plain addresses.

    wasmtime-py's function objects are shared (their argtypes must stay as they
    are) and take typed pointers, whose conversion costs more than the call
    itself; this one takes ints. It releases the GIL like any CDLL function.
    """
    return ctypes.CFUNCTYPE(restype, *argtypes)(_address_of(name))


_V = ctypes.c_void_p
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()  # a NULL function pointer
_raw_store_context = _own_function("wasmtime_store_context", _V, _V)
_raw_future_poll = _own_function("wasmtime_call_future_poll", ctypes.c_bool, _V)
_raw_trap_new = _own_function("wasmtime_trap_new", _V, ctypes.c_char_p, ctypes.c_size_t)


_lane.init(*(_address_of(name) for name in (
    "wasmtime_call_future_poll", "wasmtime_context_get_data", "wasmtime_caller_context", "wasmtime_global_get",
    "wasmtime_global_set", "wasmtime_trap_new", "wasmtime_error_delete", "wasmtime_sharedmemory_data_size")))


def fuel_remaining(context: Any, out: Any) -> int:
    """The store's remaining fuel, read into the caller's c_uint64 `out`."""
    err = _raw_get_fuel(context, ctypes.byref(out))
    if err:
        _check_error(err)
    return int(out.value)


_VALKIND = {ValType.I32: _I32, ValType.I64: _I64, ValType.F32: _F32, ValType.F64: _F64}


# Ctrl-C lands wherever the main thread runs Python, often inside one of the
# callbacks below, which must not unwind into Rust. They turn it into a trap
# and raise this flag; the poll that returns re-raises KeyboardInterrupt on the
# scheduler's side, so the run stops cleanly (futures and stores released).
_INTERRUPTED = [False]
_DEFERRING = [False]  # interrupts_deferred is active (on the main thread)
INTERRUPT_MESSAGE = "wasmconc: interrupted"


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """While driving futures on this thread, turn SIGINT into a flag checked after each poll.

    A KeyboardInterrupt raised at the first bytecode of a ctypes callback is
    swallowed by ctypes ("Exception ignored ...") and the interrupt is lost;
    with the flag it is raised by `CallFuture.poll`, outside native code.
    Only the main thread can install handlers; elsewhere this does nothing.
    """
    if _DEFERRING[0] or threading.current_thread() is not threading.main_thread():
        yield  # already deferred by an enclosing call (an exploration), or not the main thread
        return
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:
        yield
        return
    if previous is not signal.default_int_handler:
        yield  # somebody else (a debugger, a test runner) owns SIGINT: leave it alone
        return

    def note(signum: int, frame: Any) -> None:
        _INTERRUPTED[0] = True

    signal.signal(signal.SIGINT, note)
    _DEFERRING[0] = True
    try:
        yield
    finally:
        _DEFERRING[0] = False
        signal.signal(signal.SIGINT, previous)
        if _INTERRUPTED[0]:
            _INTERRUPTED[0] = False
            raise KeyboardInterrupt


def _callback_failure(exc: BaseException, what: str) -> str:
    """The trap message for an exception caught in a native callback."""
    if isinstance(exc, KeyboardInterrupt):
        _INTERRUPTED[0] = True
        return INTERRUPT_MESSAGE
    return f"wasmconc: internal error {what}: {exc!r}"


def _check_error(err: Any) -> None:
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)


def set_store_key(context: Any, key: int) -> None:
    """Tag a store with its guest thread's key (the slot's address: host calls find their thread by it)."""
    ffi.wasmtime_context_set_data(context, ctypes.c_void_p(key))


def store_context(store: wasmtime.Store) -> int:
    """The address of a store's context (stable for the store's life)."""
    return _raw_store_context(store.ptr()) or 0


def set_fuel_yield_interval(context: Any, interval: int | None) -> None:
    err = ffi.wasmtime_context_fuel_async_yield_interval(context, interval or 0)
    _check_error(err)


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
    _check_error(err)


# --------------------------------------------------------------------------
# Traps and errors


@dataclass(frozen=True)
class Frame:
    """One wasm frame of a backtrace."""

    func_index: int
    func_name: str | None
    module_offset: int

    def __str__(self) -> str:
        name = self.func_name or f"<func {self.func_index}>"
        return f"{name} (@{self.module_offset:#x})"


def _frames_from_vec(vec: Any) -> list[Frame]:
    frames = []
    for i in range(vec.size):
        fp = vec.data[i]
        idx = ffi.wasm_frame_func_index(fp)
        name_ptr = ffi.wasmtime_frame_func_name(fp)
        name = ctypes.string_at(name_ptr.contents.data, name_ptr.contents.size).decode(
            "utf-8", "replace"
        ) if name_ptr else None
        frames.append(Frame(idx, name, ffi.wasm_frame_module_offset(fp)))
    return frames


def trap_frames(trap_ptr: Any) -> list[Frame]:
    vec = ffi.wasm_frame_vec_t()
    ffi.wasm_trap_trace(trap_ptr, ctypes.byref(vec))
    try:
        return _frames_from_vec(vec)
    finally:
        ffi.wasm_frame_vec_delete(ctypes.byref(vec))


def _error_frames(err_ptr: Any) -> list[Frame]:
    vec = ffi.wasm_frame_vec_t()
    ffi.wasmtime_error_wasm_trace(err_ptr, ctypes.byref(vec))
    try:
        return _frames_from_vec(vec)
    finally:
        ffi.wasm_frame_vec_delete(ctypes.byref(vec))


def _message(getter: Callable[[Any, Any], None], ptr: Any) -> str:
    out = ffi.wasm_byte_vec_t()
    getter(ptr, ctypes.byref(out))
    try:
        return ctypes.string_at(out.data, out.size).decode("utf-8", "replace")
    finally:
        ffi.wasm_byte_vec_delete(ctypes.byref(out))


@dataclass
class NativeFailure:
    """A trap or error a future finished with, copied out of native memory."""

    message: str
    frames: list[Frame]
    trap_code: int | None
    exit_status: int | None  # wasmtime's own WASI proc_exit


def _take_trap(trap_ptr: Any) -> NativeFailure:
    try:
        msg = _message(ffi.wasm_trap_message, trap_ptr)
        code = ctypes.c_uint8()
        has_code = ffi.wasmtime_trap_code(trap_ptr, ctypes.byref(code))
        return NativeFailure(msg.rstrip("\0"), trap_frames(trap_ptr), code.value if has_code else None, None)
    finally:
        ffi.wasm_trap_delete(trap_ptr)


def _take_error(err_ptr: Any) -> NativeFailure:
    try:
        msg = _message(ffi.wasmtime_error_message, err_ptr)
        status = ctypes.c_int()
        exit_status = status.value if ffi.wasmtime_error_exit_status(err_ptr, ctypes.byref(status)) else None
        return NativeFailure(msg, _error_frames(err_ptr), None, exit_status)
    finally:
        ffi.wasmtime_error_delete(err_ptr)


# --------------------------------------------------------------------------
# Call futures


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
        self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
        self._error = ctypes.POINTER(ffi.wasmtime_error_t)()
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
        return self.settle(_raw_future_poll(address))

    def settle(self, finished: bool) -> bool:
        """After a poll (this one's or the native lane's): note the outcome, re-raise a Ctrl-C."""
        if _INTERRUPTED[0]:
            _INTERRUPTED[0] = False
            if finished:
                self.done = True
            raise KeyboardInterrupt
        if finished:
            self.done = True
            # Copy the outcome out now, so nothing later reads native buffers.
            if self._trap:
                self.failure = _take_trap(self._trap)
                self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
            elif self._error:
                self.failure = _take_error(self._error)
                self._error = ctypes.POINTER(ffi.wasmtime_error_t)()
            return True
        return False

    def close(self) -> None:
        """Delete the native future (idempotent). Pending host calls are finalized by Wasmtime."""
        fut, self._future = self._future, None
        self._address = 0
        if fut is not None:
            ffi.wasmtime_call_future_delete(fut)
        self._keep = ()

    def result_values(self) -> list[int | float]:
        out: list[int | float] = []
        for i in range(self._nresults):
            v = self.results[i]
            kind = v.kind
            if kind == _I32:
                out.append(v.of.i32)
            elif kind == _I64:
                out.append(v.of.i64)
            elif kind == _F32:
                out.append(v.of.f32)
            elif kind == _F64:
                out.append(v.of.f64)
            else:
                raise TypeError("only numeric results are supported")
        return out


def _to_val(t: ValType, v: float) -> Any:
    val = ffi.wasmtime_val_t()
    val.kind = _VALKIND[t]  # type: ignore[assignment]  # a c_uint8 field takes an int
    if t is ValType.I32:
        val.of.i32 = _signed(int(v) & 0xFFFF_FFFF, 32)
    elif t is ValType.I64:
        val.of.i64 = _signed(int(v) & 0xFFFF_FFFF_FFFF_FFFF, 64)
    elif t is ValType.F32:
        val.of.f32 = float(v)
    else:
        val.of.f64 = float(v)
    return val


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


def func_call_async(
    store: wasmtime.Store, func: wasmtime.Func, args: Sequence[tuple[ValType, int | float]], nresults: int
) -> CallFuture:
    return call_raw_async(store, func._func, args, nresults, keep=func)


def call_raw_async(store: wasmtime.Store, raw_func: Any, args: Sequence[tuple[ValType, int | float]],
                   nresults: int, keep: Any = None) -> CallFuture:
    """Start calling the `wasmtime_func_t` struct `raw_func` (an export of `store`'s instance)."""
    fut = CallFuture()
    n = len(args)
    arg_arr = (ffi.wasmtime_val_t * max(n, 1))()
    for i, (t, v) in enumerate(args):
        arg_arr[i] = _to_val(t, v)
    res_arr = (ffi.wasmtime_val_t * max(nresults, 1))()
    fut.results = res_arr
    fut._nresults = nresults
    fut._future = ffi.wasmtime_func_call_async(
        store._context(), ctypes.byref(raw_func), arg_arr, n, res_arr, nresults,
        ctypes.byref(fut._trap), ctypes.byref(fut._error),
    )
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


_raw_export_get = _own_function("wasmtime_instance_export_get", ctypes.c_bool, _V, _V, ctypes.c_char_p,
                                 ctypes.c_size_t, _V)
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


# --------------------------------------------------------------------------
# Async host functions


class HostDispatcher(Protocol):
    """What the runtime gives the native layer to route a host call."""

    def invoke(self, store_key: int, binding: _Binding, args: list[int | float]) -> Any:
        """Run the host function; return results, or a generator for a blocking call."""
        ...

    def resume(self, pending: _Pending) -> bool:
        """Advance a blocked call; True when it has finished (results or trap written)."""
        ...

    def arm_yield(self, store_key: int, trap_ret: int, continuation: int) -> None:
        """Make the host call suspend once at the continuation address (after a YieldAfter)."""
        ...


@dataclass
class _Binding:
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


class _Pending:
    """A blocked host call: the generator plus where its results and trap go.

    Owned by `_PENDING` from the host callback until the continuation reports
    completion or Wasmtime runs the finalizer (the future was deleted first).
    """

    __slots__ = ("binding", "gen", "key", "results_ptr", "send_value", "state", "store_key", "trap_ret")

    def __init__(self, key: int, binding: _Binding, gen: Generator[Any, Any, Any], results_ptr: int,
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


_BINDINGS: dict[int, _Binding] = {}
_PENDING: dict[int, _Pending] = {}
_keys = itertools.count(1)
_lock = threading.Lock()  # guards the two registries under OS-thread mode


# wasmtime_val_t: the kind byte, padding, the value at offset 8 (see _ArgsReader).
_VAL_BYTES = ctypes.c_char * 16
_I32_VAL, _I64_VAL = struct.Struct("<B7xi"), struct.Struct("<B7xq")
_F32_VAL, _F64_VAL = struct.Struct("<B7xf"), struct.Struct("<B7xd")


def set_trap(trap_ret: int, message: str) -> None:
    """Make a host call trap: store a new trap in the `wasm_trap_t **` at address `trap_ret`."""
    raw = message.encode()
    ctypes.c_void_p.from_address(trap_ret).value = _raw_trap_new(raw, len(raw))


def write_results(binding: _Binding, results_address: int, values: Any) -> None:
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
            _I32_VAL.pack_into(cell, 0, _I32, _signed(int(values) & 0xFFFF_FFFF, 32))
        elif t is ValType.I64:
            _I64_VAL.pack_into(cell, 0, _I64, _signed(int(values) & 0xFFFF_FFFF_FFFF_FFFF, 64))
        elif t is ValType.F32:
            _F32_VAL.pack_into(cell, 0, _F32, float(values))
        else:
            _F64_VAL.pack_into(cell, 0, _F64, float(values))
        return
    if not isinstance(values, (tuple, list)) or len(values) != len(rtypes):
        raise TypeError(f"host function {binding.module}.{binding.name} must return {len(rtypes)} values")
    out = (ffi.wasmtime_val_t * len(rtypes)).from_address(results_address)
    for i, (t, v) in enumerate(zip(rtypes, values)):
        out[i] = _to_val(t, v)


def _resume_pending(key: int) -> bool:
    """A pending host call's continuation (called from _lane_c/host.c): True once it has finished."""
    pending = _PENDING.get(key)
    if pending is None:  # already finished; Wasmtime will not ask again
        return True
    try:
        finished = pending.binding.dispatcher.resume(pending)
    except BaseException as exc:  # never let a Python exception unwind into Rust
        pending.write_trap(_callback_failure(exc, "resuming host call"))
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


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _binding_finalizer(env: Any) -> None:
    with _lock:
        _BINDINGS.pop(env or 0, None)


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _native_binding_finalizer(env: Any) -> None:
    with _lock:
        _BINDINGS.pop((env or 0) >> 8, None)


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
            pending = _Pending(key, binding, outcome, results, trap_ret, store_key)
            with _lock:
                _PENDING[key] = pending
            return key
        if kind is _TrapRequest:
            set_trap(trap_ret, outcome.message)
        else:
            write_results(binding, results, outcome)
    except BaseException as exc:  # the dispatcher handles user errors; this is a last resort
        set_trap(trap_ret, _callback_failure(exc, f"in host call {binding.module}.{binding.name}"))
    return 0


_lane.set_python_host(_host_call, _resume_pending, _finalize_pending)
_HOST_TRAMPOLINE = ctypes.cast(ctypes.c_void_p(_lane.PYTHON_HOST), ffi.wasmtime_func_async_callback_t)
_NATIVE_HOST = ctypes.cast(ctypes.c_void_p(_lane.NATIVE_HOST), ffi.wasmtime_func_async_callback_t)


@dataclass(frozen=True)
class _TrapRequest:
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


def trap_request(message: str) -> _TrapRequest:
    """What a dispatcher returns from `invoke` to trap the calling thread at once."""
    return _TrapRequest(message)


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
    binding = _Binding(module, name, params, results, impl, dispatcher)
    with _lock:
        _BINDINGS[key] = binding
    functype = wasmtime.FuncType(
        [_valtype(t) for t in params], [_valtype(t) for t in results]
    )
    mod = module.encode()
    nm = name.encode()
    if native:
        callback, env, finalizer = _NATIVE_HOST, key << 8 | native, _native_binding_finalizer
    else:
        callback, env, finalizer = _HOST_TRAMPOLINE, key, _binding_finalizer
    err = ffi.wasmtime_linker_define_async_func(
        linker.ptr(), mod, len(mod), nm, len(nm), functype.ptr(), callback, env, finalizer,
    )
    # Keep the FuncType alive until after the call: passing `.ptr()` of a
    # temporary segfaulted (wasmtime-facts.md).
    del functype
    if err:
        with _lock:
            _BINDINGS.pop(key, None)
        _check_error(err)


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
                                                _NATIVE_HOST, native, _NO_FINALIZER)
    del functype  # alive until after the call (see define_async_host)
    _check_error(err)


def _valtype(t: ValType) -> wasmtime.ValType:
    return {
        ValType.I32: wasmtime.ValType.i32,
        ValType.I64: wasmtime.ValType.i64,
        ValType.F32: wasmtime.ValType.f32,
        ValType.F64: wasmtime.ValType.f64,
    }[t]()


# --------------------------------------------------------------------------
# Epoch deadlines

UPDATE_DEADLINE_CONTINUE = 0
UPDATE_DEADLINE_YIELD = 1

EpochDecision = Callable[[int], "tuple[int, int] | str"]
"""Given a store key: (kind, delta) to go on, or a message to trap the thread with."""

_EPOCH_HANDLER: list[EpochDecision | None] = [None]


def set_epoch_handler(handler: EpochDecision) -> None:
    """Install the process-wide decision function the epoch callback consults."""
    _EPOCH_HANDLER[0] = handler


_epoch_cb_type = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint8),
)


@_epoch_cb_type
def _epoch_callback(context, data, delta_ret, kind_ret):  # type: ignore[no-untyped-def]
    handler = _EPOCH_HANDLER[0]
    try:
        decision = handler(data or 0) if handler is not None else (UPDATE_DEADLINE_CONTINUE, 1)
    except BaseException as exc:  # never unwind into Rust
        decision = _callback_failure(exc, "in epoch callback")
    if isinstance(decision, str):
        err = ffi.wasmtime_error_new(decision.encode())
        return ctypes.cast(err, ctypes.c_void_p).value or 0
    kind, delta = decision
    delta_ret[0] = delta
    kind_ret[0] = kind
    return 0




def install_epoch_callback(store: wasmtime.Store, key: int, first_deadline: int = 1) -> None:
    ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), _epoch_callback, key, _NO_FINALIZER)
    ffi.wasmtime_context_set_epoch_deadline(store._context(), first_deadline)


def set_epoch_deadline(store: wasmtime.Store, ticks_beyond_current: int) -> None:
    ffi.wasmtime_context_set_epoch_deadline(store._context(), ticks_beyond_current)


# --------------------------------------------------------------------------
# Linkers


def clone_linker(linker: wasmtime.Linker) -> wasmtime.Linker:
    """A copy of `linker` (host definitions are shared, new ones stay private)."""
    clone = wasmtime.Linker.__new__(wasmtime.Linker)
    clone._set_ptr(ffi.wasmtime_linker_clone(linker.ptr()))
    clone.engine = linker.engine
    return clone
