"""A WASI 0.2 host for components whose output streams are observed (`StreamWorld`).

What a C program built with wasi-libc and the preview1 command adapter
imports: wasi:cli (environment, exit, stdin/stdout/stderr, terminal-*),
wasi:clocks, wasi:filesystem (no preopens: the descriptor methods trap),
wasi:io (error, poll, streams) and wasi:random. Output streams are the
world's (budget, k-step flushes, faults, events, checker); stdin is an
input-stream over fixed bytes; clocks and randomness come from the
execution (virtual and seeded in fuel mode).

Each function is a `HostFunction` keyed by the interface name without its
version (`wasi:io/streams`) and the function's name in the component
(`[method]output-stream.check-write`); values are what wasmtime-py's
component types take and give, except that resources are plain ints (the
`rep` of a host resource) in both directions: results that create one are
`Own(kind, rep)`. runtime/components.py does the conversion.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator
from typing import Any

from ...runtime.component_values import Own, Record, Variant, interface_base
from ...runtime.hostapi import GuestExit, GuestTrap, HostFunction, Wait, WaitResult
from .model import StreamWorld
from .stream import StreamError

__all__ = ["Own", "Record", "Variant", "Wasi2Host", "interface_base"]


def ok(value: Any = None) -> Variant:
    return Variant("ok", value)


def err(value: Any = None) -> Variant:
    return Variant("err", value)


class Wasi2Host:
    """The WASI 0.2 world of one component execution."""

    def __init__(self, world: StreamWorld, args: list[str], env: dict[str, str], stdin: bytes = b"") -> None:
        self.world = world
        self.args = list(args)
        self.env = dict(env)
        self.stdin = bytes(stdin)
        self.stdin_pos = 0
        self.inputs: set[int] = set()
        self.errors: dict[int, str] = {}

    # -- helpers ----------------------------------------------------------------------------------

    def _stream_error(self, e: StreamError) -> Variant:
        if e.kind == "closed":
            return Variant("closed")
        rep = self.world.new_handle()
        self.errors[rep] = f"the stream failed ({e.kind})"
        return Variant("last-operation-failed", Own("error", rep))

    def drop(self, kind: str, rep: int, thread: int) -> None:
        """A guest dropped its handle of a host resource."""
        if kind == "pollable":
            self.world.drop_pollable(rep, thread)
        elif kind == "error":
            self.errors.pop(rep, None)
        elif kind == "input-stream":
            self.inputs.discard(rep)
        elif kind == "output-stream":
            s = self.world.streams.get(rep)
            if s is not None:
                with self.world.lock:
                    s.dropped = True
                    self.world.record(s, "drop", thread=thread)

    # -- the functions -----------------------------------------------------------------------------

    def functions(self) -> list[HostFunction]:
        w = self.world
        fns: list[HostFunction] = []

        def add(iface: str, name: str, impl: Callable[..., Any]) -> None:
            fns.append(HostFunction(iface, name, (), (), impl))

        # wasi:cli
        add("wasi:cli/environment", "get-environment", lambda call: [(k, v) for k, v in self.env.items()])
        add("wasi:cli/environment", "get-arguments", lambda call: list(self.args))
        add("wasi:cli/environment", "initial-cwd", lambda call: None)

        def exit_(call: Any, status: Variant) -> None:
            w.exit(call.thread_id)  # a violation traps here, with the backtrace of the exit call
            raise GuestExit(0 if status.tag == "ok" else 1)

        def exit_with_code(call: Any, code: int) -> None:
            w.exit(call.thread_id)
            raise GuestExit(code)

        add("wasi:cli/exit", "exit", exit_)
        add("wasi:cli/exit", "exit-with-code", exit_with_code)

        def get_stdin(call: Any) -> Own:
            rep = w.new_handle()
            self.inputs.add(rep)
            return Own("input-stream", rep)

        add("wasi:cli/stdin", "get-stdin", get_stdin)
        add("wasi:cli/stdout", "get-stdout",
            lambda call: Own("output-stream", w.stream("stdout", call.thread_id).handle))
        add("wasi:cli/stderr", "get-stderr",
            lambda call: Own("output-stream", w.stream("stderr", call.thread_id).handle))
        for which in ("stdin", "stdout", "stderr"):
            add(f"wasi:cli/terminal-{which}", f"get-terminal-{which}", lambda call: None)

        # wasi:clocks
        add("wasi:clocks/monotonic-clock", "now", lambda call: call.monotonic_ns())
        add("wasi:clocks/monotonic-clock", "resolution", lambda call: 1)

        def subscribe_instant(call: Any, when: int) -> Own:
            return Own("pollable", w.add_pollable(deadline_ns=when, label=f"clock until {when} ns").handle)

        def subscribe_duration(call: Any, ns: int) -> Own:
            when = call.monotonic_ns() + ns
            return Own("pollable", w.add_pollable(deadline_ns=when, label=f"clock for {ns} ns").handle)

        add("wasi:clocks/monotonic-clock", "subscribe-instant", subscribe_instant)
        add("wasi:clocks/monotonic-clock", "subscribe-duration", subscribe_duration)

        def wall_now(call: Any) -> Record:
            t = call.realtime_ns()
            return Record(seconds=t // 1_000_000_000, nanoseconds=t % 1_000_000_000)

        add("wasi:clocks/wall-clock", "now", wall_now)
        add("wasi:clocks/wall-clock", "resolution", lambda call: Record(seconds=0, nanoseconds=1))

        # wasi:filesystem: no preopens, so no descriptor ever exists
        add("wasi:filesystem/preopens", "get-directories", lambda call: [])
        add("wasi:filesystem/types", "filesystem-error-code", lambda call, e: None)

        # wasi:io/error
        add("wasi:io/error", "[method]error.to-debug-string",
            lambda call, rep: self.errors.get(rep, "unknown error"))

        # wasi:io/poll
        def pollable_ready(call: Any, rep: int) -> bool:
            return w.op_ready(w.pollable_of(rep), call.thread_id, call.monotonic_ns())

        def pollable_block(call: Any, rep: int) -> Generator[Wait, WaitResult, None]:
            yield from w.op_poll([w.pollable_of(rep)], call.thread_id, call.monotonic_ns)

        def poll(call: Any, reps: list[int]) -> Generator[Wait, WaitResult, list[int]]:
            ready = yield from w.op_poll([w.pollable_of(r) for r in reps], call.thread_id, call.monotonic_ns)
            return ready

        add("wasi:io/poll", "[method]pollable.ready", pollable_ready)
        add("wasi:io/poll", "[method]pollable.block", pollable_block)
        add("wasi:io/poll", "poll", poll)

        # wasi:io/streams: output-stream (observed)
        io = "wasi:io/streams"

        def check_write(call: Any, rep: int) -> Variant:
            try:
                return ok(w.op_check_write(w.stream_of(rep), call.thread_id))
            except StreamError as e:
                return err(self._stream_error(e))

        def write(call: Any, rep: int, data: bytes) -> Variant:
            try:
                w.op_write(w.stream_of(rep), bytes(data), call.thread_id)
            except StreamError as e:
                return err(self._stream_error(e))
            return ok()

        def flush(call: Any, rep: int) -> Variant:
            try:
                w.op_flush(w.stream_of(rep), call.thread_id)
            except StreamError as e:
                return err(self._stream_error(e))
            return ok()

        def blocking_flush(call: Any, rep: int) -> Generator[Wait, WaitResult, Variant]:
            try:
                yield from w.op_blocking_flush(w.stream_of(rep), call.thread_id, call.monotonic_ns)
            except StreamError as e:
                return err(self._stream_error(e))
            return ok()

        def blocking_write_and_flush(call: Any, rep: int, data: bytes) -> Generator[Wait, WaitResult, Variant]:
            try:
                yield from w.op_blocking_write_and_flush(w.stream_of(rep), bytes(data), call.thread_id,
                                                         call.monotonic_ns)
            except StreamError as e:
                return err(self._stream_error(e))
            return ok()

        def write_zeroes(call: Any, rep: int, n: int) -> Variant:
            return write(call, rep, bytes(n))

        def blocking_write_zeroes_and_flush(call: Any, rep: int, n: int) -> Generator[Wait, WaitResult, Variant]:
            return (yield from blocking_write_and_flush(call, rep, bytes(n)))

        def subscribe(call: Any, rep: int) -> Own:
            return Own("pollable", w.op_subscribe(w.stream_of(rep), call.thread_id).handle)

        def unsupported(what: str) -> Callable[..., Any]:
            def trap(call: Any, *args: Any) -> Any:
                raise GuestTrap(f"wasmconc: {what} is not supported by the stream-observing WASI 0.2 host")
            return trap

        add(io, "[method]output-stream.check-write", check_write)
        add(io, "[method]output-stream.write", write)
        add(io, "[method]output-stream.flush", flush)
        add(io, "[method]output-stream.blocking-flush", blocking_flush)
        add(io, "[method]output-stream.blocking-write-and-flush", blocking_write_and_flush)
        add(io, "[method]output-stream.write-zeroes", write_zeroes)
        add(io, "[method]output-stream.blocking-write-zeroes-and-flush", blocking_write_zeroes_and_flush)
        add(io, "[method]output-stream.subscribe", subscribe)
        add(io, "[method]output-stream.splice", unsupported("output-stream.splice"))
        add(io, "[method]output-stream.blocking-splice", unsupported("output-stream.blocking-splice"))

        # wasi:io/streams: input-stream (stdin: fixed bytes, never blocks)
        def read(call: Any, rep: int, n: int) -> Variant:
            if self.stdin_pos >= len(self.stdin):
                return err(Variant("closed"))
            chunk = self.stdin[self.stdin_pos:self.stdin_pos + n]
            self.stdin_pos += len(chunk)
            return ok(chunk)

        def skip(call: Any, rep: int, n: int) -> Variant:
            result = read(call, rep, n)
            return ok(len(result.payload)) if result.tag == "ok" else result

        add(io, "[method]input-stream.read", read)
        add(io, "[method]input-stream.blocking-read", read)
        add(io, "[method]input-stream.skip", skip)
        add(io, "[method]input-stream.blocking-skip", skip)
        add(io, "[method]input-stream.subscribe",
            lambda call, rep: Own("pollable", w.add_pollable(label="stdin").handle))

        # wasi:random
        add("wasi:random/random", "get-random-bytes", lambda call, n: call.random_bytes(n))
        add("wasi:random/random", "get-random-u64", lambda call: struct.unpack("<Q", call.random_bytes(8))[0])
        add("wasi:random/insecure", "get-insecure-random-bytes", lambda call, n: call.random_bytes(n))
        add("wasi:random/insecure", "get-insecure-random-u64",
            lambda call: struct.unpack("<Q", call.random_bytes(8))[0])
        add("wasi:random/insecure-seed", "insecure-seed",
            lambda call: struct.unpack("<QQ", call.random_bytes(16)))
        return fns
