"""What each step a policy chose touched, read from the guest for the dfs policy's sleep sets.

A footprint load (instrument/footprints.py) keeps in each thread's instance
one word: what its next step starts with (the pending access, announced by
the point that suspended it) and what its last step did beyond its own
pending access without a point of its own (waits and notifies, or something
unknown). The serial driver calls this reader after every step of a policy
that wants footprints (`footprint_log`): it reads that word once (one C
call), keeps the pending access for the thread's next step, and logs the
footprint of the step that ran: its pending access, read after the thread's
previous step, plus what the step did. Unknown (None, dependent on every step) whenever that could be
wrong:

- the program was loaded without footprints (another level, another engine);
- the thread has not run since its call began (a new thread, or the first
  step after its instantiation: nothing announced the code its call starts
  with);
- a thread is parked with a deadline: the virtual clock then decides when it
  wakes, and every step moves the clock, so no two steps commute;
- the step made more than one wait or notify, or an operation whose effect
  is not known (a host call, `memory.grow`, a spawn), or passed a scheduling
  point without yielding (a quiet point that is not its wait's);
- the step ended the thread or the execution (a thread's end is a step no
  other step commutes with as far as the search knows: the main thread's ends
  every other).

After a step no policy chose (a thread running alone) the footprint of the
decision before it becomes unknown.
Locations are byte addresses of the shared memory (accesses of any width
overlap exactly when they share a byte).
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi

from ...instrument.footprints import (LOW_MASK, STEP_FUTEX_EXPORT, STEP_WORD_EXPORT, decode_desc, extras_of,
                                      pending_of)
from ...schedulers.dfs import Access, Footprint
from ..machine.execution import Execution
from ..machine.threads import GuestThread, Phase
from ..wasmtime import calls
from ..wasmtime.capi import VOID_P, own_function, store_context

__all__ = ["StepFootprints"]

# Read and written by address (~50x cheaper than wasmtime-py's Global.value).
_global_get = own_function("wasmtime_global_get", None, VOID_P, VOID_P, VOID_P)
_global_set = own_function("wasmtime_global_set", VOID_P, VOID_P, VOID_P, VOID_P)
_GLOBAL_KIND = 1  # wasmtime_extern_t.kind of a global
_I64_KIND = 1  # wasmtime_val_t.kind of an i64
_U64 = (1 << 64) - 1
# The bytes a wait32 or a notify is an access of (written: it changes the futex queue of its word).
_FUTEX_WIDTH = 4


class StepFootprints:
    """One execution's reader: `begin(thread, solo)` before each step, `end(...)` right after its poll."""

    def __init__(self, ex: Execution, log: list[Footprint]) -> None:
        self._ex = ex
        self._log = log
        self._globals: dict[int, _Globals | None] = {}  # by thread id, looked up once
        # The pending operation of each thread whose call has run, as its last step left it (None: unknown).
        self._next: dict[int, Footprint] = {}
        # Threads whose call had begun when a step of theirs ended: their next steps run the call.
        self._called: set[int] = set()
        # Whether a thread was parked with a deadline when the last step ended (none can be parked with one
        # before a step began unless it was when the step before ended: only steps park threads).
        self._deadline = False

    @classmethod
    def for_policy(cls, ex: Execution, policy: Any) -> StepFootprints | None:
        """A reader for `policy`'s execution (call after its `new_execution`), or None when the policy wants no
        footprints."""
        log = getattr(policy, "footprint_log", None)
        if log is None or not getattr(ex.program, "footprints", False):
            return None
        return cls(ex, log())

    def step_ran(self, t: GuestThread, finished: bool, solo: bool) -> None:
        """A step of `t` ran, chosen by the policy unless `solo` (call right after its poll, before the thread is
        closed): read what it did (one read of one global: this runs at every step of the search), and log its
        footprint; after a step the policy did not choose, make the last one unknown."""
        tid = t.tid
        pending = self._next.pop(tid, None)  # what the step started with
        extra: Footprint = None
        g = None
        if tid in self._called and not finished:
            g = self._globals.get(tid, _MISSING)
            if g is _MISSING:
                g = self._globals[tid] = _Globals.of(t)
        elif t.phase is Phase.RUNNING:
            self._called.add(tid)  # its call began in this step: nothing announced what the call starts with
        if g is not None:
            assert isinstance(g, _Globals)
            _global_get(g.context, g.word_address, g.val_address)
            word = g.i64.value & _U64
            low = word & LOW_MASK
            fp = _ACCESSES.get(low, _MISSING)
            self._next[tid] = _access(low) if fp is _MISSING else fp  # type: ignore[assignment]
            if word != low:
                g.clear_extras(low)
                extra = self._extra(g, word)
            elif not self._ex.native.points:  # quiet points: read before the driver turns them into steps
                extra = _NOTHING
        # A deadline (next_deadline_ns, -1: none) may be stale only by being there too long: never missed.
        deadline = self._ex.native.next_deadline_ns >= 0
        before, self._deadline = self._deadline, deadline
        log = self._log
        if solo:
            if log:
                log[-1] = None
            return
        if pending is not None:
            if before or deadline or finished or extra is None or self._ex.end is not None:
                pending = None
            elif extra:
                pending = pending | extra
        log.append(pending)

    # -- inside ------------------------------------------------------------------------------

    def _extra(self, g: _Globals, word: int) -> Footprint:
        """What the step did beyond its pending access, or None when that is not known."""
        extras = extras_of(word)
        if extras is None:
            return None
        waits, notifies = extras
        # One wait or notify; a quiet point only if it is that wait's (one that returned at once): any other
        # is a scheduling point the step went past, whose operation nothing announced.
        if waits + notifies == 1 and self._ex.native.points <= waits:
            ea = g.futex()
            return frozenset((b, True) for b in range(ea, ea + _FUTEX_WIDTH))
        return None


class _Globals:
    """The footprint globals of one thread's instance, read and written by address."""

    def __init__(self, context: int, items: list[Any]) -> None:
        self.context = context
        self._items = items  # the wasmtime_extern_t structs the addresses point into
        self.word_address, self._futex = (ctypes.addressof(item.of.global_) for item in items)
        self._val = val = ffi.wasmtime_val_t()
        self.val_address = ctypes.addressof(val)
        self.i64 = ctypes.c_int64.from_address(ctypes.addressof(val.of))  # the value read

    @classmethod
    def of(cls, t: GuestThread) -> _Globals | None:
        if t.store is None or t._raw_instance is None:
            return None
        context = store_context(t.store)
        items = [calls.export_raw(context, t._raw_instance, name.encode())
                 for name in (STEP_WORD_EXPORT, STEP_FUTEX_EXPORT)]
        if any(item is None or item.kind != _GLOBAL_KIND for item in items):
            return None
        return cls(context, items)

    def futex(self) -> int:
        _global_get(self.context, self._futex, self.val_address)
        return int(self.i64.value) & _U64

    def clear_extras(self, low: int) -> None:
        val = self._val
        val.kind = _I64_KIND  # type: ignore[assignment]
        self.i64.value = low
        if _global_set(self.context, self.word_address, self.val_address):
            raise RuntimeError("wasmconc: internal error: cannot reset a footprint global")


_NOTHING: frozenset[Access] = frozenset()


def _access(low: int) -> Footprint:
    """The pending operation in a word's low part: an access, nothing shared (empty), or unknown (None)."""
    known = _ACCESSES.get(low, _MISSING)
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    addr, desc = pending_of(low)
    access = decode_desc(desc)
    fp: Footprint
    if desc == 0:
        fp = _NOTHING
    elif access is None:
        fp = None
    else:
        size, write = access
        fp = frozenset((b, write) for b in range(addr, addr + size))
    if len(_ACCESSES) >= _ACCESSES_MAX:
        _ACCESSES.clear()
    _ACCESSES[low] = fp
    return fp


# The footprints of announced accesses, shared by executions: a search runs the same few again and again.
_ACCESSES: dict[int, Footprint] = {}
_ACCESSES_MAX = 1 << 16
_MISSING = object()
