"""The observed streams of one guest execution: its operation count, blocking waits, the event history.

One `StreamWorld` serves one guest execution: its output streams (stream.py)
and their pollables, the operations both faces call (the `wasmconc_streams`
import module of core guests, core.py, and the WASI 0.2 host of components,
host.py), and the history of those operations.

Counting stream operations makes delays deterministic: every stream call of any
guest thread is one, and so is every expiry of a blocked wait's short timeout
(virtual time in fuel mode). Blocking operations are generators yielding
`Until` waits, so the runtime sees them: it schedules around them, and a wait
that can never end (the lost wake-up) is a deadlock it reports with every
thread's backtrace.

Every operation is recorded as an `Event` (events.py) and shown to the world's
observer, if it has one: the stream check (checks/streams/) gives it its
protocol checker. With `halt` set, the first finding traps the calling guest
thread, so the report carries the guest backtrace of the very call that broke
the rules.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...runtime.hostapi import GuestTrap, Until, Wait, WaitResult
from .events import BLOCKING_WRITE_LIMIT, Event
from .stream import (
    CLOSED,
    DEFAULT_BUDGET,
    DEFAULT_BUSY_POLL_LIMIT,
    FAILED,
    OutputStream,
    Pollable,
    StreamConfig,
    StreamError,
    echo_sinks,
)

__all__ = [
    "CLOSED",
    "DEFAULT_BUDGET",
    "DEFAULT_BUSY_POLL_LIMIT",
    "FAILED",
    "STEP_NS",
    "EventObserver",
    "Finding",
    "OutputStream",
    "Pollable",
    "StreamConfig",
    "StreamError",
    "StreamWorld",
    "echo_sinks",
]

# A blocked stream wait re-checks after this much (virtual, in fuel mode) time: one stream operation.
STEP_NS = 1_000
_HISTORY_LIMIT = 200_000  # events kept per world (the observer still sees every one)


class Finding(Protocol):
    """Something an observer found wrong in the history (checks/streams/checker.Violation is one)."""

    def summary(self) -> str: ...


class EventObserver(Protocol):
    """Sees every event as it is recorded; returns what that event completes (nothing: [])."""

    def observe(self, ev: Event) -> Sequence[Finding]: ...


@dataclass
class StreamWorld:
    """The observed streams of one guest execution, their history and its observer."""

    config: StreamConfig = field(default_factory=StreamConfig)
    sinks: dict[str, Callable[[bytes], None]] = field(default_factory=dict)
    observer: EventObserver | None = None

    def __post_init__(self) -> None:
        self.flush_steps = self.config.flush_steps
        self.lock = threading.RLock()
        self.step = 0
        self.delivered_total = 0
        self.events: list[Event] = []
        self.dropped_events = 0
        self._index = itertools.count(1)
        self.findings: list[Finding] = []
        self.streams: dict[int, OutputStream] = {}
        self.by_name: dict[str, OutputStream] = {}
        self.pollables: dict[int, Pollable] = {}
        self._handles = itertools.count(1)
        self.exited = False

    # -- handles -----------------------------------------------------------------------------

    def new_handle(self) -> int:
        return next(self._handles)

    def stream(self, name: str, thread: int = 0) -> OutputStream:
        """The output stream called `name` (created, with an `open` event, on first use)."""
        with self.lock:
            s = self.by_name.get(name)
            if s is None:
                s = OutputStream(self, self.new_handle(), name, self.sinks.get(name))
                self.streams[s.handle] = s
                self.by_name[name] = s
                self.record(s, "open", thread=thread)
            return s

    def stream_of(self, handle: int) -> OutputStream:
        s = self.streams.get(handle)
        if s is None:
            raise GuestTrap(f"wasmconc: unknown output-stream handle {handle}")
        return s

    def pollable_of(self, handle: int) -> Pollable:
        p = self.pollables.get(handle)
        if p is None:
            raise GuestTrap(f"wasmconc: unknown pollable handle {handle}")
        return p

    def add_pollable(self, **kw: Any) -> Pollable:
        with self.lock:
            p = Pollable(self.new_handle(), **kw)
            self.pollables[p.handle] = p
            return p

    def drop_pollable(self, handle: int, thread: int = 0) -> None:
        with self.lock:
            p = self.pollables.pop(handle, None)
            if p is not None and p.stream is not None:
                self.record(p.stream, "drop", arg=handle, thread=thread)

    # -- events --------------------------------------------------------------------------------

    def tick(self) -> None:
        """One stream operation: every stream call and every expired wait is one."""
        self.step += 1

    def record(self, s: OutputStream, kind: str, *, arg: int | None = None, result: int | str | None = None,
               thread: int = 0, pollables: tuple[int, ...] = (), detail: str = "") -> list[Finding]:
        ev = Event(next(self._index), s.name, kind, arg, result, thread, pollables, detail)
        if len(self.events) < _HISTORY_LIMIT:
            self.events.append(ev)
        else:
            self.dropped_events += 1
        if self.observer is None:
            return []
        found = list(self.observer.observe(ev))
        self.findings += found
        if found and self.config.halt:
            raise GuestTrap(f"wasmconc: stream protocol violation: {found[0].summary()}")
        return found

    @property
    def violations(self) -> list[Finding]:
        """Everything the observer found so far, in history order."""
        return self.findings

    def events_of(self, name: str) -> list[Event]:
        return [e for e in self.events if e.stream == name]

    def output(self, name: str) -> bytes:
        """Bytes delivered so far on stream `name` (b"" if it was never opened)."""
        s = self.by_name.get(name)
        return bytes(s.delivered) if s is not None else b""

    # -- exit ---------------------------------------------------------------------------------------

    def exit(self, thread: int = 0, *, halt: bool = True) -> list[Finding]:
        """The guest exits now: record an `exit` event per stream (at most once per world).

        With `halt` (and a halting config) a violation raises GuestTrap from the exit call.
        """
        with self.lock:
            if self.exited:
                return []
            self.exited = True
            found: list[Finding] = []
            first_error: GuestTrap | None = None
            for s in list(self.streams.values()):
                detail = s.at_exit()
                try:
                    found += self.record(s, "exit", thread=thread, detail=detail)
                except GuestTrap as trap:
                    first_error = first_error or trap
            if first_error is not None and halt:
                raise first_error
            return found

    # -- waiting ----------------------------------------------------------------------------------

    def wait(self, check: Callable[[], bool], what: str, *, streams: Iterable[OutputStream] = (),
             deadline_ns: int | None = None, now_ns: Callable[[], int] = lambda: 0,
             ) -> Generator[Wait, WaitResult, None]:
        """Block (as a host-function generator) until `check()` holds; call it under `lock`.

        `streams` are the output streams whose in-flight flushes the wait depends
        on: while one is in flight, each expiry of a short timeout is one device
        step. `deadline_ns` (monotonic) bounds the wait for clock pollables. When
        nothing can end the wait except a wake-up the lost wake-up fault swallows,
        the wait has a predicate that never holds and no timeout: the runtime
        reports the guest as deadlocked (or hung) with every thread's backtrace.
        """
        streams = list(streams)
        with self.lock:
            began = self.step
        while True:
            with self.lock:
                lost = bool(streams) and all(s.wakeups_lost(began) for s in streams)
                if not (lost and deadline_ns is None) and check():
                    return
                stepping = any(s.in_flight() for s in streams)
                start_step = self.step
            if lost and deadline_ns is None:
                yield Until(ready=lambda: False,
                            describe=f"{what} (lost wake-up fault: readiness never fires after the first flush)")
                continue
            timeout: int | None = None
            if stepping and not lost:
                timeout = STEP_NS
            if deadline_ns is not None:
                left = max(0, deadline_ns - now_ns())
                timeout = left if timeout is None else min(timeout, left)
            result = yield Until(ready=self._moved_since(start_step), timeout_ns=timeout, describe=what)
            if result is WaitResult.TIMED_OUT and stepping:
                with self.lock:
                    self.tick()

    def _moved_since(self, step: int) -> Callable[[], bool]:
        """A wait predicate: another thread's stream operation advanced the device."""
        return lambda: self.step != step

    # -- operations: what both the core import module and WASI 0.2 do ----------------------------

    def op_check_write(self, s: OutputStream, thread: int) -> int:
        with self.lock:
            self.tick()
            try:
                permit = s.check_write()
            except StreamError as err:
                self.record(s, "check-write", result=err.kind, thread=thread)
                raise
            self.record(s, "check-write", result=permit, thread=thread)
            return permit

    def op_write(self, s: OutputStream, data: bytes, thread: int) -> None:
        with self.lock:
            self.tick()
            try:
                s.write(data)
            except StreamError as err:
                self.record(s, "write", arg=len(data), result=err.kind, thread=thread)
                raise
            self.record(s, "write", arg=len(data), thread=thread)

    def op_flush(self, s: OutputStream, thread: int) -> None:
        with self.lock:
            self.tick()
            try:
                s.start_flush()
            except StreamError as err:
                self.record(s, "flush", result=err.kind, thread=thread)
                raise
            self.record(s, "flush", thread=thread)

    def _flushed(self, s: OutputStream) -> bool:
        s.settle()
        return s.writable()

    def op_blocking_flush(self, s: OutputStream, thread: int, now_ns: Callable[[], int] = lambda: 0,
                          ) -> Generator[Wait, WaitResult, None]:
        with self.lock:
            self.tick()
            try:
                s.start_flush()
            except StreamError as err:
                self.record(s, "blocking-flush", result=err.kind, thread=thread)
                raise
        yield from self.wait(lambda: self._flushed(s), f"blocking-flush on {s.name}", streams=[s], now_ns=now_ns)
        with self.lock:
            error = s.take_error() if s.error is not None else None
            self.record(s, "blocking-flush", result=error, thread=thread)
        if error is not None:
            raise StreamError(error)

    def op_blocking_write_and_flush(self, s: OutputStream, data: bytes, thread: int,
                                    now_ns: Callable[[], int] = lambda: 0) -> Generator[Wait, WaitResult, None]:
        """Host-side: the wasi:io/streams pseudo-code (wait, check-write, write; flush, wait)."""
        n = len(data)
        recorded = False
        with self.lock:
            self.tick()
            s.settle()
            if n > BLOCKING_WRITE_LIMIT or s.error is not None:
                recorded = True
                # recorded at once, so that a violation traps before anything is written
                early = s.take_error() if s.error is not None else None
                self.record(s, "blocking-write-and-flush", arg=n, result=early, thread=thread)
                if early is not None:
                    raise StreamError(early)
        what = f"blocking-write-and-flush({n}) on {s.name}"
        contents = memoryview(bytes(data))
        error: str | None = None
        try:
            while contents:
                yield from self.wait(lambda: self._flushed(s), what, streams=[s], now_ns=now_ns)
                with self.lock:
                    permit = s.check_write()
                    chunk, contents = contents[:permit], contents[permit:]
                    s.write(bytes(chunk))
            with self.lock:
                s.start_flush()
            yield from self.wait(lambda: self._flushed(s), what, streams=[s], now_ns=now_ns)
            with self.lock:
                if s.error is not None:
                    error = s.take_error()
        except StreamError as err:
            error = err.kind
        if not recorded:
            with self.lock:
                self.record(s, "blocking-write-and-flush", arg=n, result=error, thread=thread)
        if error is not None:
            raise StreamError(error)

    def op_subscribe(self, s: OutputStream, thread: int) -> Pollable:
        with self.lock:
            self.tick()
            p = self.add_pollable(stream=s)
            self.record(s, "subscribe", arg=p.handle, thread=thread)
            return p

    def pollable_ready(self, p: Pollable, now_ns: int) -> bool:
        """Readiness as the guest may observe it (the lost wake-up fault hides it)."""
        if p.stream is not None:
            s = p.stream
            s.settle()
            return s.writable() and not s.wakeups_lost()
        if p.deadline_ns is not None:
            return now_ns >= p.deadline_ns
        return p.ready_fn() if p.ready_fn is not None else True

    def op_ready(self, p: Pollable, thread: int, now_ns: int) -> bool:
        """Non-blocking `pollable.ready`."""
        with self.lock:
            if p.stream is not None:
                self.tick()
            ready = self.pollable_ready(p, now_ns)
            if ready and p.stream is not None:
                self.record(p.stream, "ready", arg=p.handle, thread=thread)
            return ready

    def op_poll(self, ps: list[Pollable], thread: int, now_ns: Callable[[], int]
                ) -> Generator[Wait, WaitResult, list[int]]:
        """`poll`: wait until at least one is ready; the indices of the ready ones."""
        if not ps:
            raise GuestTrap("wasmconc: poll of an empty list of pollables")
        streams = list(dict.fromkeys(p.stream for p in ps if p.stream is not None))
        with self.lock:
            if streams:
                self.tick()
            for s in streams:
                self.record(s, "poll", thread=thread,
                            pollables=tuple(p.handle for p in ps if p.stream is s))
        deadlines = [p.deadline_ns for p in ps if p.deadline_ns is not None]
        what = "poll on " + ", ".join(p.describe() for p in ps)
        ready: list[int] = []

        def check() -> bool:
            now = now_ns()
            ready[:] = [i for i, p in enumerate(ps) if self.pollable_ready(p, now)]
            return bool(ready)

        yield from self.wait(check, what, streams=streams, deadline_ns=min(deadlines) if deadlines else None,
                             now_ns=now_ns)
        with self.lock:
            for i in ready:
                p = ps[i]
                if p.stream is not None:
                    self.record(p.stream, "ready", arg=p.handle, thread=thread)
        return list(ready)

    # -- reports ------------------------------------------------------------------------------------

    def describe(self) -> str:
        return self.config.describe()

