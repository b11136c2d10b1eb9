"""What every host sync object shares: guarded state, and one way to wait for it from any thread.

State is guarded by `_mutex`. A plain Python thread waits on `_cond`; a
guest thread's host function waits through its `WaitContext`, which parks
the guest thread (a scheduling point, part of deadlock detection). A
wake-up is only ever a hint: the waiter re-checks the state under `_mutex`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from . import events
from .context import NS, WaitContext
from .events import LockEvent
from .owners import Owner

__all__ = ["SyncObject", "check_timeout", "emit", "label_of"]

_names = itertools.count(1)


class SyncObject:
    """The common part of Lock, RLock, Semaphore, Event, Condition and Queue."""

    kind = "host object"

    def __init__(self, name: str | None, external: bool = False) -> None:
        self.name = name if name is not None else f"{self.kind.split()[-1]}#{next(_names)}"
        # Plain Python threads (not guest host functions) may also signal it: a guest
        # thread waiting on it waits for the world, so it is never part of a deadlock.
        self.external = external
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        # wakers of executions with guest threads parked here -> how many
        self._parked: dict[Callable[[], None], int] = {}

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name!r}{self._state()}>"

    def _state(self) -> str:
        return ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name!r}"

    def _changed(self) -> list[Callable[[], None]]:
        """Caller holds `_mutex` and just changed the state: wake plain waiters; return wakers to call."""
        self._cond.notify_all()
        return list(self._parked)

    @staticmethod
    def _wake(ctx: WaitContext | None, wakers: list[Callable[[], None]]) -> None:
        """After a change (no lock held): tell waiting executions; ours gets a scheduling point."""
        for w in wakers:
            w()
        if ctx is not None and ctx.waker in wakers:
            ctx.scheduling_point()  # a parked guest thread may now run: let the scheduler choose

    def _block(self, ctx: WaitContext | None, ready: Callable[[], bool], deadline: float | None,
               describe: Callable[[], str], external: bool = False) -> bool:
        """Wait until `ready()` (checked under `_mutex` by plain threads). False when the deadline passed.

        Called without `_mutex` held. `deadline` is in the clock of the caller
        (`time.monotonic()` for plain threads, the context's ns clock for guests).
        On True the caller re-checks the state under `_mutex` (another thread may
        have won), so a wake-up is only ever a hint.
        """
        if ctx is None:
            with self._mutex:
                while not ready():
                    if deadline is None:
                        self._cond.wait()
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return False
                        self._cond.wait(left)
                return True
        timeout_ns = None if deadline is None else max(0, int(deadline) - ctx.now_ns())
        waker = ctx.waker
        with self._mutex:
            self._parked[waker] = self._parked.get(waker, 0) + 1
        try:
            return ctx.park(ready, timeout_ns, describe(), external or self.external)
        finally:
            with self._mutex:
                n = self._parked.get(waker, 0) - 1
                if n > 0:
                    self._parked[waker] = n
                else:
                    self._parked.pop(waker, None)

    @staticmethod
    def _deadline(ctx: WaitContext | None, timeout: float | None) -> float | None:
        if timeout is None:
            return None
        if ctx is None:
            return time.monotonic() + timeout
        return ctx.now_ns() + int(timeout * NS)

    def drop_owners(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        """An execution ended: drop what its guest threads still hold; describe what was dropped."""
        return []


def check_timeout(blocking: bool, timeout: float | None) -> float | None:
    """threading's convention: timeout -1 (or None) waits forever; only blocking calls take one."""
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    return float(timeout)


def emit(kind: str, obj: SyncObject, owner: Owner, ctx: WaitContext | None) -> None:
    """Report a lock operation to the `observe()` callbacks, then to the execution's observers."""
    if ctx is None and not events.observed():
        return
    event = LockEvent(kind, obj, owner, ctx.function if ctx is not None else None)
    events.publish(event)
    if ctx is not None:
        ctx.emit(event)  # the execution's observers; one may raise GuestTrap to stop this thread here


def label_of(owner: Owner | None) -> str:
    return owner.label if owner is not None else "nobody"
