"""The check's attachment to one execution: lock events in, lock-order edges out.

Guest lock events arrive through the `wasmconc.lock_event` imports the lock
pass calls (instrument/locks.py); host lock events as `LockEvent`s through
`HostCall.emit` (the host sync objects and `HostLock`, runtime/userhost/).
Each thread's held locks are tracked; a blocking acquire of B while holding A
adds the edge A -> B to the graph. In a probe replay (probe.py) the same
recorder adds nothing and stops one thread at one event instead.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from ...runtime.hostapi import GuestTrap, HostCall, HostFunction, ValType
from ...runtime.userhost.sync import LockEvent, Semaphore
from .graph import LockKey, LockOrderGraph, Taken, Witness

if TYPE_CHECKING:
    from ...runtime.extensions import Rerun
    from ...instrument.locator import Locator
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings

__all__ = ["PROBE_MESSAGE", "ExecutionRecord", "Probe", "Recorder"]

PROBE_MESSAGE = "wasmconc: stopped here to take the backtrace of a lock acquisition"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_HOST_MODULE = "wasmconc"


@dataclass
class ExecutionRecord:
    """What the check keeps of an execution once it finished (to name it, and to replay it)."""

    number: int
    settings: RunSettings
    rerun: Rerun | None
    token: str | None


@dataclass
class _Held:
    """A lock a thread holds, where it took it, and how many times (recursion)."""

    key: LockKey
    taken: Taken
    count: int = 1


@dataclass(frozen=True)
class Probe:
    """Stop the thread at event `seq` (if it is the expected one) to take its backtrace."""

    seq: int
    tid: int
    where: str


class Recorder:
    """The check's attachment to one execution (or a probe replay of one).

    `graph` and `mutex` are the check's (shared by all its executions);
    `finished` tells the check an execution ended. A probe replay gets
    neither a mutex (it runs while the check reports, holding its lock) nor
    `finished`, and adds nothing to the graph.
    """

    def __init__(self, graph: LockOrderGraph, pass_key: str, program: Program, settings: RunSettings,
                 number: int, *, mutex: threading.RLock | None = None,
                 finished: Callable[[Recorder, Outcome, Rerun | None], None] | None = None,
                 probe: Probe | None = None) -> None:
        self.graph = graph
        self.number = number
        self.settings = settings
        self.probe = probe
        self._finished = finished
        self.probe_result: tuple[bool, str] | None = None  # (matched, what was found)
        self._mutex: threading.RLock | threading.Lock = mutex if mutex is not None else threading.Lock()
        info = program.pass_results.get(pass_key)
        self.info: LockInstrumentation | None = info if isinstance(info, LockInstrumentation) else None
        self.digest = self.info.digest if self.info is not None else program.name
        self.program_name = program.name
        self._locator: Locator | None = getattr(program, "locator", None)  # (a stand-in program may have none)
        self._wheres: dict[int, str] = {}  # site index -> its position as reports print it
        self.held: dict[int, list[_Held]] = {}
        self.pending: dict[int, Taken] = {}  # per thread: the blocking acquire in progress
        self.seq = 0
        self.new_witnesses = 0
        self.events = 0

    # -- Attachment ----------------------------------------------------------------

    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        return [
            HostFunction(_HOST_MODULE, LOCK_EVENT, (i32, i32, i32), (), self._guest_event),
            HostFunction(_HOST_MODULE, LOCK_EVENT64, (i64, i32, i32), (), self._guest_event),
        ]

    def on_event(self, call: HostCall, event: object) -> None:
        # Host locks report LockEvents (runtime/userhost/sync/events.py); other events are not
        # ours. A semaphore is no lock: nobody holds it, so it orders nothing.
        if not isinstance(event, LockEvent) or isinstance(event.lock, Semaphore):
            return
        lock = event.lock
        via = f"{type(lock).__name__}.{_METHOD[event.kind]}"
        if event.function:
            via += f" in host function {event.function}"
        self._host_event(call.thread_id, event.kind, lock, lock.label, via)

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        if self._finished is not None:
            self._finished(self, outcome, rerun)

    # -- guest events -----------------------------------------------------------------

    def _guest_event(self, call: HostCall, lock_id: int, result: int, site_index: int) -> None:
        info = self.info
        if info is None or not 0 <= site_index < len(info.sites):
            raise GuestTrap(f"wasmconc: lock event with unknown site {site_index}")
        site = info.sites[site_index]
        key: LockKey = ("guest", self.digest, lock_id)
        tid = call.thread_id
        kind = site.kind
        with self._mutex:
            taken = self._next(tid, self._where(site), site.callee)
            if kind == BEFORE or kind == USER_ACQUIRED:
                self._lock_info(key, lock_id, site)
                self._request(tid, key, taken)
                if kind == USER_ACQUIRED:
                    self._push(tid, key, taken)
            elif kind == AFTER:
                entry = site.entry
                if entry is None or entry.succeeded(result):
                    self._lock_info(key, lock_id, site)
                    pending = self.pending.pop(tid, None)
                    self._push(tid, key, pending if pending is not None and pending.where == taken.where else taken)
                else:
                    self.pending.pop(tid, None)
            elif kind == USER_TRY_ACQUIRED:
                self._lock_info(key, lock_id, site)
                self._push(tid, key, taken)
            elif kind in (RELEASING, USER_RELEASED):
                self._pop(tid, key)

    def _where(self, site: LockSite) -> str:
        """`caller (@0xe4) file.c:30`: the call, at its offset in the file the user built (once per site)."""
        where = self._wheres.get(site.index)
        if where is None:
            locator = self._locator
            where = site.where if locator is None else locator.site(site.caller, site.caller_index, site.offset)
            self._wheres[site.index] = where
        return where

    def _lock_info(self, key: LockKey, lock_id: int, site: LockSite) -> None:
        if self.probe is not None or key in self.graph.locks:
            return
        what = site.entry.family if site.entry is not None else "wasmconc.lock_* import"
        self.graph.lock(key, f"guest lock @{lock_id:#x} ({what})", self.program_name)

    # -- host events --------------------------------------------------------------------

    def _host_event(self, tid: int, kind: str, obj: object, label: str, via: str) -> None:
        key: LockKey = ("host", id(obj))
        python = _python_stack()
        where = python[0] if python else "<host>"
        with self._mutex:
            taken = self._next(tid, where, via)
            taken.python = python
            if self.probe is None and key not in self.graph.locks:
                self.graph.lock(key, label)
            if kind == "before":
                self._request(tid, key, taken)
            elif kind == "acquired":
                pending = self.pending.pop(tid, None)
                self._push(tid, key, pending or taken)
            elif kind == "try-acquired":
                self._push(tid, key, taken)
            elif kind == "released":
                self._pop(tid, key)

    # -- the common part (caller holds self._mutex) ---------------------------------------

    def _next(self, tid: int, where: str, via: str) -> Taken:
        self.seq += 1
        self.events += 1
        taken = Taken(self.number, self.seq, tid, where, via)
        probe = self.probe
        if probe is not None and self.seq == probe.seq:
            matched = probe.tid == tid and probe.where == where
            self.probe_result = (matched, f"thread {tid} at {where}")
            raise GuestTrap(PROBE_MESSAGE)
        return taken

    def _request(self, tid: int, key: LockKey, taken: Taken) -> None:
        """A blocking acquire of `key` starts: every lock the thread holds now comes first."""
        held = self.held.get(tid, ())
        if self.probe is None:
            keys = [h.key for h in held]
            for h in held:
                if h.key == key:
                    continue  # taken again while held: recursion (or a self-deadlock), not an order
                gates = frozenset(k for k in keys if k != h.key and k != key)
                if self.graph.add_edge(h.key, key, Witness(tid, h.taken, taken, gates)):
                    self.new_witnesses += 1
        self.pending[tid] = taken

    def _push(self, tid: int, key: LockKey, taken: Taken) -> None:
        held = self.held.setdefault(tid, [])
        for h in held:
            if h.key == key:
                h.count += 1  # recursive mutex, or a read lock taken twice
                return
        held.append(_Held(key, taken))

    def _pop(self, tid: int, key: LockKey) -> None:
        for holder in [tid] + [t for t in self.held if t != tid]:  # a lock may be released by another thread
            held = self.held.get(holder, [])
            for i, h in enumerate(held):
                if h.key == key:
                    h.count -= 1
                    if h.count <= 0:
                        del held[i]
                    return


_METHOD = {"before": "acquire", "acquired": "acquire", "try-acquired": "try_acquire", "released": "release"}


def _python_stack(limit: int = 8) -> list[str]:
    """The host function's own Python frames, innermost first.

    Those are the frames between the lock (this package) and the runtime
    that called the host function (this package again).
    """
    out: list[str] = []
    for fs in reversed(traceback.extract_stack()):
        if os.path.abspath(fs.filename).startswith(_PACKAGE_DIR + os.sep):
            if out:
                break
            continue
        out.append(f"{fs.name} ({os.path.basename(fs.filename)}:{fs.lineno})")
        if len(out) >= limit:
            break
    return out
