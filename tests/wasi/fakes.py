"""A fake runtime for driving the WASI host without wasm.

`FakeMemory` is a bytearray with the `GuestMemory` contract; `FakeCall`
is a `HostCall` with a fake clock and seeded randomness; `HostDriver`
calls host functions by name and plays the runtime's part for the
`Wait`s they yield (Sleep advances the fake clock, Until is checked and
times out by advancing the clock, or raises `Blocked`).
"""

from __future__ import annotations

import random
import struct
import threading
from collections.abc import Callable
from typing import Any

from pytest_wasmconc.runtime.hostapi import MemoryFault, Sleep, Until, Wait, WaitResult, Yield
from pytest_wasmconc.wasi import WasiPreview1


class FakeMemory:
    def __init__(self, size: int = 2 * 65536) -> None:
        self.data = bytearray(size)

    def size(self) -> int:
        return len(self.data)

    def _check(self, ptr: int, length: int) -> None:
        if ptr < 0 or length < 0 or ptr + length > len(self.data):
            raise MemoryFault(f"[{ptr:#x}, +{length}) out of bounds")

    def read(self, ptr: int, length: int) -> bytes:
        self._check(ptr, length)
        return bytes(self.data[ptr : ptr + length])

    def write(self, ptr: int, data: bytes) -> None:
        self._check(ptr, len(data))
        self.data[ptr : ptr + len(data)] = data

    def _load(self, fmt: str, ptr: int) -> int:
        size = struct.calcsize(fmt)
        self._check(ptr, size)
        return int(struct.unpack_from(fmt, self.data, ptr)[0])

    def _store(self, fmt: str, ptr: int, value: int) -> None:
        size = struct.calcsize(fmt)
        self._check(ptr, size)
        struct.pack_into(fmt, self.data, ptr, value & ((1 << (8 * size)) - 1))

    def load_u8(self, ptr: int) -> int:
        return self._load("<B", ptr)

    def load_u16(self, ptr: int) -> int:
        return self._load("<H", ptr)

    def load_u32(self, ptr: int) -> int:
        return self._load("<I", ptr)

    def load_u64(self, ptr: int) -> int:
        return self._load("<Q", ptr)

    def store_u8(self, ptr: int, value: int) -> None:
        self._store("<B", ptr, value)

    def store_u16(self, ptr: int, value: int) -> None:
        self._store("<H", ptr, value)

    def store_u32(self, ptr: int, value: int) -> None:
        self._store("<I", ptr, value)

    def store_u64(self, ptr: int, value: int) -> None:
        self._store("<Q", ptr, value)


class FakeClock:
    """Deterministic clocks; thread-safe so real-thread tests can share one."""

    def __init__(
        self, monotonic: int = 1_000_000, realtime: int = 1_700_000_000_000_000_000
    ) -> None:
        self._lock = threading.Lock()
        self.monotonic = monotonic
        self.realtime = realtime

    def advance(self, ns: int) -> None:
        with self._lock:
            self.monotonic += ns
            self.realtime += ns


class FakeCall:
    def __init__(
        self,
        memory: FakeMemory,
        clock: FakeClock,
        thread_id: int = 0,
        seed: int = 1,
        deterministic: bool = True,
    ) -> None:
        self._memory = memory
        self.clock = clock
        self._thread_id = thread_id
        self._rng = random.Random(seed)
        self._deterministic = deterministic
        self.pokes = 0

    @property
    def thread_id(self) -> int:
        return self._thread_id

    @property
    def memory(self) -> FakeMemory:
        return self._memory

    @property
    def deterministic(self) -> bool:
        return self._deterministic

    def monotonic_ns(self) -> int:
        return self.clock.monotonic

    def realtime_ns(self) -> int:
        return self.clock.realtime

    def random_bytes(self, n: int) -> bytes:
        return bytes(self._rng.getrandbits(8) for _ in range(n))

    def poke(self) -> None:
        self.pokes += 1

    def backtrace(self) -> list[str]:
        return []


class Blocked(Exception):
    """An Until that is not ready and has no timeout: the call would park forever."""

    def __init__(self, wait: Until) -> None:
        super().__init__(wait.describe)
        self.wait = wait


class HostDriver:
    """Call our host's functions by name, like NativeWasi does for wasmtime's."""

    def __init__(
        self,
        wasi: WasiPreview1,
        *,
        memory: FakeMemory | None = None,
        clock: FakeClock | None = None,
        thread_id: int = 0,
        on_until: Callable[[Until], None] | None = None,
    ) -> None:
        self.wasi = wasi
        self.mem = memory or FakeMemory()
        self.clock = clock or FakeClock()
        self.call_ctx = FakeCall(self.mem, self.clock, thread_id)
        self.functions = {f.name: f for f in wasi.functions()}
        self.waits: list[Wait] = []
        self.on_until = on_until

    def call(self, name: str, *args: int) -> Any:
        fn = self.functions[name]
        wrapped = [
            a & ((1 << (32 if t.value == "i32" else 64)) - 1) for a, t in zip(args, fn.params)
        ]
        assert len(wrapped) == len(fn.params), f"{name} takes {len(fn.params)} args"
        outcome = fn.impl(self.call_ctx, *wrapped)
        if not hasattr(outcome, "send"):
            return outcome
        gen: Any = outcome
        value: WaitResult | None = None
        while True:
            try:
                wait = gen.send(value) if value is not None else next(gen)
            except StopIteration as stop:
                return stop.value
            self.waits.append(wait)
            value = self._settle(wait)

    def _settle(self, wait: Wait) -> WaitResult:
        if isinstance(wait, Yield):
            return WaitResult.READY
        if isinstance(wait, Sleep):
            self.clock.advance(wait.ns)
            return WaitResult.READY
        if isinstance(wait, Until):
            if not wait.ready() and self.on_until is not None:
                self.on_until(wait)
            if wait.ready():
                return WaitResult.READY
            if wait.timeout_ns is not None:
                self.clock.advance(wait.timeout_ns)
                return WaitResult.TIMED_OUT
            raise Blocked(wait)
        raise AssertionError(f"unexpected wait {wait!r}")

    def write(self, ptr: int, data: bytes) -> None:
        self.mem.write(ptr, data)

    def read(self, ptr: int, length: int) -> bytes:
        return self.mem.read(ptr, length)
