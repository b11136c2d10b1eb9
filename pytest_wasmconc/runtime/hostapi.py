"""The contract between the runtime and host functions: `HostFunction`, `HostCall` and the `Wait` requests.

The runtime's built-in hosts are written against it (the WASI host in
`wasi/`, the stream hosts, the imports of checks), and every user import
becomes a `HostFunction` underneath (runtime/userhost/run.py). User code
writes plain Python callables instead (`pytest_wasmconc.host`,
`imports=`), which block on host sync objects; a `HostFunction` passed by
user code keeps working, but that is not the model to start from.

A host function is plain Python: it receives a `HostCall` and the wasm
arguments, and returns its results. A host function that must *block*
(a futex wait, a sleep, a read of an empty pipe) is a generator function
instead: each `yield` of a `Wait` parks the calling guest thread until the
wait is satisfied, and the generator is resumed with the wait's result. The
runtime decides what parking means: in the deterministic modes the guest
thread is simply not polled (and its waits are scheduling points); in the
OS-thread mode its OS thread sleeps. Host code never blocks the scheduler
thread itself, so one host implementation serves every mode.
"""
from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "GiveUp",
    "GuestExit",
    "GuestMemory",
    "GuestTrap",
    "HostCall",
    "HostFunction",
    "HostResult",
    "MemoryFault",
    "Sleep",
    "Until",
    "ValType",
    "Wait",
    "WaitResult",
    "Yield",
]


class ValType(enum.Enum):
    """A core wasm value type as host functions see it."""

    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"


class MemoryFault(Exception):
    """A host function touched guest memory out of bounds (WASI maps it to EFAULT)."""


class GuestExit(BaseException):
    """Raised by a host function to end the whole guest with `code` (proc_exit).

    A BaseException so that host code's `except Exception` cannot swallow it.
    """

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class GuestTrap(Exception):
    """Raised by a host function to trap the calling guest thread with a message."""


class GuestMemory(Protocol):
    """The calling guest's linear memory, bounds-checked.

    All accessors raise `MemoryFault` when [ptr, ptr+len) is out of bounds.
    Integers are little-endian and unsigned.
    """

    def size(self) -> int: ...
    def read(self, ptr: int, length: int) -> bytes: ...
    def write(self, ptr: int, data: bytes) -> None: ...
    def load_u8(self, ptr: int) -> int: ...
    def load_u16(self, ptr: int) -> int: ...
    def load_u32(self, ptr: int) -> int: ...
    def load_u64(self, ptr: int) -> int: ...
    def store_u8(self, ptr: int, value: int) -> None: ...
    def store_u16(self, ptr: int, value: int) -> None: ...
    def store_u32(self, ptr: int, value: int) -> None: ...
    def store_u64(self, ptr: int, value: int) -> None: ...


class HostCall(Protocol):
    """What a host function knows about the call it serves."""

    @property
    def thread_id(self) -> int:
        """The wasi-threads id of the calling guest thread (0 for main)."""
        ...

    @property
    def memory(self) -> GuestMemory:
        """The guest's memory (the shared one for threaded guests)."""
        ...

    @property
    def deterministic(self) -> bool:
        """True in fuel mode: clocks, randomness and I/O readiness must replay."""
        ...

    def monotonic_ns(self) -> int:
        """The execution's monotonic clock (virtual in deterministic mode)."""
        ...

    def realtime_ns(self) -> int:
        """The execution's wall clock (virtual in deterministic mode)."""
        ...

    def random_bytes(self, n: int) -> bytes:
        """Seeded in deterministic mode; os.urandom otherwise."""
        ...

    def poke(self) -> None:
        """Tell the runtime that state other threads may wait on has changed.

        Call it after making an `Until` predicate of another thread true from
        outside the runtime's knowledge (for example a write into a pipe).
        """
        ...

    def backtrace(self) -> list[str]:
        """The calling guest thread's wasm frames, innermost first (may be empty)."""
        ...

    def emit(self, event: object) -> None:
        """Report an event to the checks observing this execution (host locks emit
        `runtime.userhost.sync.LockEvent`s; a check ignores kinds of events it does not know).

        An observer may raise `GuestTrap` to stop the calling thread there.
        """
        ...

    @property
    def execution_state(self) -> dict[Any, Any]:
        """Storage that lives as long as this execution: host objects shared by many
        executions (a host lock) keep their per-execution state here."""
        ...


@dataclass(frozen=True)
class Wait:
    """Base of what a blocking host function may yield."""


class WaitResult(enum.Enum):
    """What a parked guest thread is resumed with."""

    READY = "ready"
    TIMED_OUT = "timed-out"


@dataclass(frozen=True)
class Sleep(Wait):
    """Park for `ns` nanoseconds of the execution's monotonic clock.

    In deterministic mode no real time passes: when every thread is parked the
    virtual clock jumps to the earliest deadline.
    """

    ns: int


@dataclass(frozen=True)
class Yield(Wait):
    """A scheduling point: stay runnable, let the scheduler pick who runs next."""


@dataclass(frozen=True)
class GiveUp(Yield):
    """A Yield that gives up the processor (sched_yield): the thread asks for another one to run,
    where a scheduling point only offers to let one (the policies are told `SwitchReason.GAVE_UP`)."""


@dataclass(frozen=True, eq=False)
class Until(Wait):
    """Park until `ready()` is true, or `timeout_ns` passes (None: no timeout).

    `ready` must be cheap and side-effect free; the runtime calls it whenever
    something may have changed. `external` says the condition depends on the
    world outside the guest (a real pipe, stdin): a guest whose threads are
    all parked is then waiting for the world, not deadlocked.
    `describe` appears in deadlock and hang reports.
    """

    ready: Callable[[], bool]
    timeout_ns: int | None = None
    describe: str = "waiting"
    external: bool = False


HostResult = None | int | float | Sequence[int | float]
HostImpl = Callable[..., HostResult | Generator[Wait, WaitResult, HostResult]]


@dataclass(frozen=True)
class HostFunction:
    """One import a guest may link against.

    `impl(call, *args)`: i32/i64 arguments arrive as unsigned Python ints;
    results may be given signed or unsigned (they are wrapped to their width).
    A generator `impl` may block by yielding `Wait`s (see module doc).
    """

    module: str
    name: str
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    impl: HostImpl
    doc: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.name)


@functools.cache
def signature(params: str, results: str) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    """Parse a compact signature like ("i32 i64", "i32") into ValType tuples."""

    def parse(text: str) -> tuple[ValType, ...]:
        return tuple(ValType(tok) for tok in text.split())

    return parse(params), parse(results)


def host(module: str, name: str, params: str, results: str) -> Callable[[HostImpl], HostFunction]:
    """Decorator: `@host("wasi_snapshot_preview1", "fd_write", "i32 i32 i32 i32", "i32")`.

    For the runtime's own hosts; a test's host functions are plain callables (`pytest_wasmconc.host`).
    """

    def wrap(impl: HostImpl) -> HostFunction:
        p, r = signature(params, results)
        return HostFunction(module, name, p, r, impl, doc=(impl.__doc__ or "").strip())

    return wrap


def describe_args(args: Sequence[Any]) -> str:
    """Render wasm arguments for traces and reports."""
    return ", ".join(str(a) for a in args)
