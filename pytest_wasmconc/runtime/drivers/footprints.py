"""What each step a policy chose touched, read from the guest for the dfs policy's sleep sets.

A footprint load (instrument/footprints.py) leaves in each thread's instance
what its next step starts with (the pending access, announced by the point
that suspended it) and what the step did beyond it without a point of its own
(waits and notifies, or something unknown). The serial driver asks this
reader at each decision of a policy that wants footprints (`step_footprint`):
`begin` reads the chosen thread's pending access before its step, `end`
adds what the step did and hands the footprint over. Unknown (None, dependent
on every step) whenever the reading could be wrong:

- the program was loaded without footprints (another level, another engine);
- the thread has not run since its call began (a new thread, or the first
  step after its instantiation: nothing announced the code its call starts
  with);
- a thread is parked with a deadline: the virtual clock then decides when it
  wakes, and every step moves the clock, so no two steps commute;
- the step made more than one wait or notify, or an operation whose effect
  is not known (a host call, `memory.grow`, a spawn), or passed a scheduling
  point without yielding (a quiet point the instrumentation's wait does not
  account for);
- the step ended the thread or the execution (a thread's end is a step no
  other step commutes with as far as the search knows: the main thread's ends
  every other).

Locations are byte addresses of the shared memory (accesses of any width
overlap exactly when they share a byte).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from wasmtime import _ffi as ffi

from ...instrument.footprints import (OPS_NOTIFY, OPS_UNKNOWN, PEND_ADDR_EXPORT, PEND_DESC_EXPORT,
                                      STEP_FUTEX_EXPORT, STEP_OPS_EXPORT, decode_desc)
from ...schedulers.dfs import Access, Footprint
from ..machine.execution import Execution
from ..machine.threads import GuestThread, Phase
from ..wasmtime import calls
from ..wasmtime.capi import VOID_P, own_function, store_context

__all__ = ["StepFootprints"]

# Read and written by address (two C calls per step, ~50x cheaper than wasmtime-py's Global.value).
_global_get = own_function("wasmtime_global_get", None, VOID_P, VOID_P, VOID_P)
_global_set = own_function("wasmtime_global_set", VOID_P, VOID_P, VOID_P, VOID_P)
_GLOBAL_KIND = 1  # wasmtime_extern_t.kind of a global
_I32_KIND = 0  # wasmtime_val_t.kind of an i32
# The bytes a wait32 or a notify is an access of (written: it changes the futex queue of its word).
_FUTEX_WIDTH = 4


class StepFootprints:
    """One execution's reader: `begin(thread, solo)` before each step, `end(...)` right after its poll."""

    def __init__(self, ex: Execution, sink: Callable[[Footprint], None], unseen: Callable[[], None]) -> None:
        self._ex = ex
        self._sink = sink
        self._unseen = unseen
        self._globals: dict[int, _Globals | None] = {}
        # Threads that have run since their call began: every suspension since wrote their pending access.
        self._ran: set[int] = set()
        self._pending: Footprint = None

    @classmethod
    def for_policy(cls, ex: Execution, policy: Any) -> StepFootprints | None:
        """A reader for `policy`'s execution, or None when the policy wants no footprints."""
        sink = getattr(policy, "step_footprint", None)
        unseen = getattr(policy, "unseen_step", None)
        if sink is None or unseen is None or not getattr(ex.program, "footprints", False):
            return None
        return cls(ex, sink, unseen)

    def begin(self, t: GuestThread, solo: bool) -> bool:
        """`t` is about to run a step, chosen by the policy unless `solo`: read what the step starts with.
        Returns whether `t`'s call was running (for `end`)."""
        running = t.phase is Phase.RUNNING
        self._pending = None
        if solo:
            return running
        g = self._exports(t) if running else None
        # A deadline (next_deadline_ns, -1: none) may be stale only by being there too long: never missed.
        if g is None or t.tid not in self._ran or self._ex.native.next_deadline_ns >= 0:
            return running
        g.zero_ops()
        self._pending = _access(g.i64(0), g.i32(1))
        return running

    def end(self, t: GuestThread, finished: bool, solo: bool, running: bool) -> None:
        """The step ran (call right after its poll, before the thread is closed): hand over its footprint,
        or (`solo`) tell the policy a step ran that it did not choose."""
        if running:
            self._ran.add(t.tid)
        if solo:
            self._unseen()
            return
        fp = self._pending
        self._pending = None
        if fp is not None:
            fp = None if finished or self._ex.end is not None else self._extra(t, fp)
        self._sink(fp)

    # -- inside ------------------------------------------------------------------------------

    def _extra(self, t: GuestThread, fp: frozenset[Access]) -> Footprint:
        """`fp` with what the step did beyond its pending access, or None when that is not known."""
        g = self._exports(t)
        if g is None:
            return None
        ops = g.i32(2)
        points = int(self._ex.native.points)  # quiet points: read before the driver turns them into steps
        if ops == 0 and points == 0:
            return fp
        waits, notifies = ops % OPS_NOTIFY, ops // OPS_NOTIFY
        # One wait or notify; a quiet point only if it is that wait's (one that returned at once): any other
        # is a scheduling point the step went past, whose operation nothing announced.
        if ops < OPS_UNKNOWN and waits + notifies == 1 and points <= waits:
            ea = g.i64(3)
            return fp | frozenset((b, True) for b in range(ea, ea + _FUTEX_WIDTH))
        return None

    def _exports(self, t: GuestThread) -> _Globals | None:
        """The thread's footprint globals (looked up once per thread), None when absent."""
        tid = t.tid
        if tid in self._globals:
            return self._globals[tid]
        found = _Globals.of(t)
        self._globals[tid] = found
        return found


class _Globals:
    """The four footprint globals of one thread's instance, read and written by address."""

    def __init__(self, context: int, items: list[Any]) -> None:
        self._context = context
        self._items = items  # the wasmtime_extern_t structs the addresses point into
        self._addresses = [ctypes.addressof(item.of.global_) for item in items]
        self._val = ffi.wasmtime_val_t()
        self._val_address = ctypes.addressof(self._val)

    @classmethod
    def of(cls, t: GuestThread) -> _Globals | None:
        if t.store is None or t._raw_instance is None:
            return None
        context = store_context(t.store)
        items = [calls.export_raw(context, t._raw_instance, name.encode())
                 for name in (PEND_ADDR_EXPORT, PEND_DESC_EXPORT, STEP_OPS_EXPORT, STEP_FUTEX_EXPORT)]
        if any(item is None or item.kind != _GLOBAL_KIND for item in items):
            return None
        return cls(context, items)

    def i32(self, which: int) -> int:
        _global_get(self._context, self._addresses[which], self._val_address)
        return int(self._val.of.i32)

    def i64(self, which: int) -> int:
        _global_get(self._context, self._addresses[which], self._val_address)
        return int(self._val.of.i64)

    def zero_ops(self) -> None:
        val = self._val
        val.kind = _I32_KIND  # type: ignore[assignment]
        val.of.i32 = 0
        if _global_set(self._context, self._addresses[2], self._val_address):
            raise RuntimeError("wasmconc: internal error: cannot reset a footprint global")


def _access(addr: int, desc: int) -> Footprint:
    """The pending operation a point announced: an access, nothing shared (empty), or unknown (None)."""
    key = (addr, desc)
    known = _ACCESSES.get(key, _MISSING)
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    access = decode_desc(desc)
    fp: Footprint
    if desc == 0:
        fp = frozenset()
    elif access is None:
        fp = None
    else:
        size, write = access
        fp = frozenset((b, write) for b in range(addr, addr + size))
    if len(_ACCESSES) >= _ACCESSES_MAX:
        _ACCESSES.clear()
    _ACCESSES[key] = fp
    return fp


# The footprints of announced accesses, shared by executions: a search runs the same few again and again.
_ACCESSES: dict[tuple[int, int], Footprint] = {}
_ACCESSES_MAX = 1 << 16
_MISSING = object()
