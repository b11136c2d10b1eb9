"""The core-module face of the observed streams: the `wasmconc_streams` import module.

The same operations as wasi:io/streams output-stream and wasi:io/poll, for
core wasm guests (handles are i32; errors are negative results):

    get_stdout() -> i32                 get_stderr() -> i32
    check_write(stream) -> i64          permit >= 0, or an error
    write(stream, ptr, len) -> i32      0, or an error
    flush(stream) -> i32                blocking_flush(stream) -> i32
    blocking_write_and_flush(stream, ptr, len) -> i32
    subscribe(stream) -> i32            a fresh pollable
    poll(list_ptr, count, out_ptr) -> i32
        blocks until at least one of the `count` pollables (u32 handles at
        list_ptr) is ready; writes the indices of the ready ones (u32) at
        out_ptr and returns how many
    ready(pollable) -> i32              1 if ready now, else 0 (never blocks)
    drop_pollable(pollable)

Errors: -1 closed, -2 last-operation-failed. Blocking calls park the guest
thread in the runtime (see model.py); `wasi_snapshot_preview1.proc_exit` is
wrapped so that exiting with unflushed data is seen at the exit call.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ...runtime.hostapi import GuestExit, HostFunction, ValType, Wait, WaitResult
from .model import StreamWorld
from .stream import CLOSED, STREAMS_MODULE, OutputStream, StreamError

__all__ = ["ERR_CLOSED", "ERR_FAILED", "STREAMS_MODULE", "core_functions"]

ERR_CLOSED = -1
ERR_FAILED = -2
I32, I64 = ValType.I32, ValType.I64


def _code(err: StreamError) -> int:
    return ERR_CLOSED if err.kind == CLOSED else ERR_FAILED


def core_functions(world: StreamWorld, *, wrap_proc_exit: bool = True) -> list[HostFunction]:
    """Host functions of the `wasmconc_streams` module bound to `world`."""

    def stream(handle: int) -> OutputStream:
        return world.stream_of(handle)

    def get_stdout(call: Any) -> int:
        return world.stream("stdout", call.thread_id).handle

    def get_stderr(call: Any) -> int:
        return world.stream("stderr", call.thread_id).handle

    def check_write(call: Any, s: int) -> int:
        try:
            return world.op_check_write(stream(s), call.thread_id)
        except StreamError as err:
            return _code(err)

    def write(call: Any, s: int, ptr: int, length: int) -> int:
        target = stream(s)
        data = call.memory.read(ptr, length)
        try:
            world.op_write(target, data, call.thread_id)
        except StreamError as err:
            return _code(err)
        return 0

    def flush(call: Any, s: int) -> int:
        try:
            world.op_flush(stream(s), call.thread_id)
        except StreamError as err:
            return _code(err)
        return 0

    def blocking_flush(call: Any, s: int) -> Generator[Wait, WaitResult, int]:
        try:
            yield from world.op_blocking_flush(stream(s), call.thread_id, call.monotonic_ns)
        except StreamError as err:
            return _code(err)
        return 0

    def blocking_write_and_flush(call: Any, s: int, ptr: int, length: int) -> Generator[Wait, WaitResult, int]:
        target = stream(s)
        data = call.memory.read(ptr, length)
        try:
            yield from world.op_blocking_write_and_flush(target, data, call.thread_id, call.monotonic_ns)
        except StreamError as err:
            return _code(err)
        return 0

    def subscribe(call: Any, s: int) -> int:
        return world.op_subscribe(stream(s), call.thread_id).handle

    def poll(call: Any, list_ptr: int, count: int, out_ptr: int) -> Generator[Wait, WaitResult, int]:
        mem = call.memory
        handles = [mem.load_u32(list_ptr + 4 * i) for i in range(count)]
        ps = [world.pollable_of(h) for h in handles]
        ready = yield from world.op_poll(ps, call.thread_id, call.monotonic_ns)
        for j, i in enumerate(ready):
            mem.store_u32(out_ptr + 4 * j, i)
        return len(ready)

    def ready(call: Any, p: int) -> int:
        return int(world.op_ready(world.pollable_of(p), call.thread_id, call.monotonic_ns()))

    def drop_pollable(call: Any, p: int) -> None:
        world.drop_pollable(p, call.thread_id)

    def proc_exit(call: Any, code: int) -> None:
        world.exit(call.thread_id)  # a violation traps here, with the backtrace of the exit call
        raise GuestExit(code)

    m = STREAMS_MODULE
    fns = [
        HostFunction(m, "get_stdout", (), (I32,), get_stdout),
        HostFunction(m, "get_stderr", (), (I32,), get_stderr),
        HostFunction(m, "check_write", (I32,), (I64,), check_write),
        HostFunction(m, "write", (I32, I32, I32), (I32,), write),
        HostFunction(m, "flush", (I32,), (I32,), flush),
        HostFunction(m, "blocking_flush", (I32,), (I32,), blocking_flush),
        HostFunction(m, "blocking_write_and_flush", (I32, I32, I32), (I32,), blocking_write_and_flush),
        HostFunction(m, "subscribe", (I32,), (I32,), subscribe),
        HostFunction(m, "poll", (I32, I32, I32), (I32,), poll),
        HostFunction(m, "ready", (I32,), (I32,), ready),
        HostFunction(m, "drop_pollable", (I32,), (), drop_pollable),
    ]
    if wrap_proc_exit:
        fns.append(HostFunction("wasi_snapshot_preview1", "proc_exit", (I32,), (), proc_exit))
    return fns
