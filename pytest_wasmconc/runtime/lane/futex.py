"""Per-address FIFO wait queues behind the rewritten memory.atomic.wait/notify."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from dataclasses import dataclass

from . import _lane
from ..hostapi import Until

_BLOCKED, _WOKEN, _TIMED = _lane.BLOCKED, _lane.WOKEN, _lane.TIMED

__all__ = ["FutexTable", "FutexWait", "NativeFutexTable", "Waiter"]


@dataclass(frozen=True, eq=False)
class FutexWait(Until):
    """A thread parked by the rewritten memory.atomic.wait on one address."""

    waiter: Any = None


class Waiter:
    """One guest thread parked on one address. `woken` flips exactly once."""

    __slots__ = ("addr", "queued", "thread", "woken")

    def __init__(self, thread: Any, addr: int) -> None:
        self.thread = thread
        self.addr = addr
        self.woken = False
        self.queued = True


class FutexTable:
    """Wake order is FIFO per address, as the threads proposal requires of notify.

    The lock makes "compare the value, then enqueue" atomic with respect to
    `wake` under the OS-thread mode; it is uncontended in the serial modes.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._queues: dict[int, deque[Waiter]] = {}

    def enqueue(self, thread: Any, addr: int) -> Waiter:
        """Caller holds `lock` (and has just compared the value)."""
        w = Waiter(thread, addr)
        self._queues.setdefault(addr, deque()).append(w)
        return w

    def wake(self, addr: int, count: int) -> list[Waiter]:
        with self.lock:
            q = self._queues.get(addr)
            woken: list[Waiter] = []
            while q and len(woken) < count:
                w = q.popleft()
                w.queued = False
                w.woken = True
                slot = w.thread.slot
                if slot.blocked == _BLOCKED or slot.blocked == _TIMED:
                    slot.blocked = _WOKEN  # ready now: the next step makes it runnable
                woken.append(w)
            if q is not None and not q:
                del self._queues[addr]
            return woken

    def cancel(self, waiter: Waiter) -> bool:
        """Remove a waiter that timed out or is being torn down; False if it was already woken."""
        with self.lock:
            if waiter.woken or not waiter.queued:
                return False
            q = self._queues.get(waiter.addr)
            if q is not None:
                try:
                    q.remove(waiter)
                except ValueError:
                    pass
                if not q:
                    del self._queues[waiter.addr]
            waiter.queued = False
            return True

    def waiting(self) -> int:
        with self.lock:
            return sum(len(q) for q in self._queues.values())


class NativeFutexTable:
    """The same table kept by the native lane (_lane_c/futex.c), whose wait and
    notify take their common case without Python; this is its Python side, for
    the rest (waits with a timeout, cancellation). The waiter is the thread's slot."""

    def __init__(self, native: Any) -> None:
        self.lock = threading.Lock()
        self._native = native

    def enqueue(self, thread: Any, addr: int) -> Any:
        """Caller holds `lock` (and has just compared the value)."""
        return self._native.futex_enqueue(thread.slot, addr)

    def wake(self, addr: int, count: int) -> list[Any]:
        with self.lock:
            return self._native.futex_wake(addr, count)  # type: ignore[no-any-return]

    def cancel(self, waiter: Any) -> bool:
        """Remove a waiter that timed out or is being torn down; False if it was already woken."""
        with self.lock:
            return bool(self._native.futex_cancel(waiter))

    def waiting(self) -> int:
        with self.lock:
            return int(self._native.futex_waiting())
