"""The event recorder of one execution, present only when a timeline was asked for.

The execution and the drivers call it where things happen (a quantum begins
and ends, a thread parks, is woken, spawns, exits, makes a host call, takes
or releases a lock); it appends a tuple per event and builds the `Timeline`
once the execution is over. Without a recorder none of this runs: the hooks
are `if recorder is not None` in the Python paths only.

An execution with a recorder keeps every step and every futex wait in Python
(no native lane, no native futex): the steps only Python sees become
visible, and since the Python driver is the reference the native lane is
tested against, the schedule is the same (tests/runtime/test_lane.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...instrument.locks import (
    AFTER,
    BEFORE,
    LOCK_EVENT,
    LOCK_EVENT64,
    RELEASING,
    USER_ACQUIRED,
    USER_RELEASED,
    USER_TRY_ACQUIRED,
    LockInstrumentation,
    LockSite,
)
from ..hostapi import HostFunction
from ..native import NativeHostFunction
from .build import build_timeline

if TYPE_CHECKING:
    from ..machine.execution import Execution
    from ..machine.threads import GuestThread
    from ..outcome import Outcome
    from .model import Timeline

__all__ = ["MAX_EVENTS", "Recorder"]

# Events kept (the last ones: the end explains a failure); a long execution drops its start.
MAX_EVENTS = 200_000
_HOST_MODULE = "wasmconc"
# Imports the recorder sees through its own hooks (waits, notifies, spawns) or not at all.
_OWN_IMPORTS = {"wait32", "wait64", "wait32_m64", "wait64_m64", "notify", "notify_m64", "sched_point", "preempt"}
_LOCK_KINDS = {BEFORE: "acquiring", AFTER: "acquired", RELEASING: "released", USER_ACQUIRED: "acquired",
               USER_TRY_ACQUIRED: "acquired", USER_RELEASED: "released"}


class Recorder:
    """Collects one execution's events (see the module docstring); `timeline()` once it ended."""

    def __init__(self, max_events: int | None = None) -> None:
        self.events: deque[tuple[Any, ...]] = deque(maxlen=max_events or MAX_EVENTS)
        self.appended = 0
        self._ex: Execution | None = None
        self._virtual = True
        self._origin = 0
        self._running: GuestThread | None = None  # the thread inside its quantum (serial modes)
        self._locks: list[LockInstrumentation] = []
        self._wheres: dict[tuple[int, int], str] = {}  # (lock pass, site) -> its position as reports print it

    # -- set-up --------------------------------------------------------------------------------

    def attach(self, ex: Execution) -> None:
        """Bind to the execution (before it links): its clock, its host functions wrapped to be seen."""
        self._ex = ex
        self._virtual = ex.deterministic
        self._origin = 0 if self._virtual else time.monotonic_ns()
        self._locks = [r for r in ex.program.pass_results.values() if isinstance(r, LockInstrumentation)]
        for key, hf in list(ex.impls.items()):
            if isinstance(hf, NativeHostFunction) or (hf.module == _HOST_MODULE and hf.name in _OWN_IMPORTS):
                continue
            ex.impls[key] = dataclasses.replace(hf, impl=self._watch(hf))

    def now(self) -> int:
        """Nanoseconds since the start: virtual (the clock plus the running quantum's fuel so far) or wall."""
        ex = self._ex
        assert ex is not None
        if not self._virtual:
            return time.monotonic_ns() - self._origin
        now = ex.clock.now_ns()
        running = self._running
        return now + running.fuel_used() if running is not None else now

    def _add(self, *event: Any) -> None:
        self.appended += 1
        self.events.append(event)

    # -- hooks: the drivers ------------------------------------------------------------------------

    def quantum_begins(self, t: GuestThread) -> None:
        self._add("q0", self.now(), t.tid)
        self._running = t

    def quantum_polled(self) -> None:
        """The poll returned: times are the clock's again (the driver advances it by the fuel used)."""
        self._running = None

    def quantum_ends(self, tid: int, reason: str, step: int) -> None:
        self._add("q1", self.now(), tid, reason, step)

    # -- hooks: the execution ------------------------------------------------------------------------

    def thread_new(self, tid: int, parent: int | None) -> None:
        self._add("new", self.now(), tid, parent)

    def parked(self, t: GuestThread, describe: str) -> None:
        self._add("park", self.now(), t.tid, describe)

    def yielded(self, t: GuestThread) -> None:
        self._add("yield", self.now(), t.tid)

    def woken(self, t: GuestThread, result: str) -> None:
        self._add("wake", self.now(), t.tid, result)

    def notified(self, t: GuestThread, addr: int, woken: list[int]) -> None:
        self._add("notify", self.now(), t.tid, addr, tuple(woken))

    def finished(self, t: GuestThread, how: str) -> None:
        self._add("exit", self.now(), t.tid, how)

    def ended(self, status: str, message: str, thread: int | None) -> None:
        self._add("end", self.now(), thread, status, message)

    # -- host calls ----------------------------------------------------------------------------------

    def _watch(self, hf: HostFunction) -> Callable[..., Any]:
        impl = hf.impl
        if hf.module == _HOST_MODULE and hf.name in (LOCK_EVENT, LOCK_EVENT64):
            def lock_event(call: Any, lock_id: int, result: int, site: int) -> Any:
                self._lock_event(call.thread_id, lock_id, result, site)
                return impl(call, lock_id, result, site)

            return lock_event
        name = hf.name if hf.module in ("wasi_snapshot_preview1", "wasi") else f"{hf.module}.{hf.name}"

        def watched(call: Any, *args: Any) -> Any:
            ts = self.now()
            value = None
            try:
                value = impl(call, *args)
                return value
            finally:  # also when it ends the guest (proc_exit) or traps
                # A generator parks and finishes later: its result is not known here.
                shown = None if hasattr(value, "send") else value
                self._add("call", ts, call.thread_id, name, args, shown)

        return watched

    def _where(self, n: int, site: LockSite) -> str:
        """`caller (@0xe4) file.c:30`: the call in the guest file, as every report prints it (once per site)."""
        where = self._wheres.get((n, site.index))
        if where is None:
            locator = getattr(self._ex.program, "locator", None) if self._ex is not None else None
            where = site.where if locator is None else locator.site(site.caller, site.caller_index, site.offset)
            self._wheres[(n, site.index)] = where
        return where

    def _lock_event(self, tid: int, lock_id: int, result: int, site: int) -> None:
        for n, found in enumerate(self._locks):
            if 0 <= site < len(found.sites):
                s = found.sites[site]
                kind = _LOCK_KINDS.get(s.kind, s.kind)
                if s.kind == AFTER:
                    acquired = s.entry.succeeded(result) if s.entry is not None else True
                    if not acquired:
                        kind = "not acquired"
                self._add("lock", self.now(), tid, kind, lock_id, s.callee, self._where(n, s), s.blocking)
                return

    # -- the result ----------------------------------------------------------------------------------

    def timeline(self, outcome: Outcome, title: str) -> Timeline:
        """The execution's timeline (call once it ended)."""
        return build_timeline(list(self.events), outcome, title, virtual=self._virtual,
                              dropped=self.appended - len(self.events), end=self.now())
