"""The wait context: how a host sync object used inside a guest's host function parks that guest thread.

Host functions of user imports run on a helper thread per guest thread
(runtime/userhost/worker.py), which installs a `WaitContext` for the call.
Every sync object asks `current_context()`: with none (a plain Python
thread: the test itself, a thread of the application) it waits on a real
condition variable; with one, it asks the context to park the guest thread
until a side-effect-free predicate holds, so the scheduler runs the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from .events import LockEvent
from .owners import Owner, plain_owner

__all__ = [
    "NS",
    "HostSyncError",
    "Touched",
    "WaitContext",
    "current_context",
    "owner_of",
    "sleep",
    "swap_context",
]

NS = 1_000_000_000


class HostSyncError(RuntimeError):
    """A host synchronisation object was used in a way it cannot support (named in the message)."""


class Touched(Protocol):
    """A host object an execution used: told when that execution ends."""

    def drop_owners(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        """Drop what the ended execution's guest threads still hold; describe what was dropped."""
        ...


class WaitContext(Protocol):
    """What a host function's caller provides while the host function runs (userhost/call.py)."""

    owner: Owner
    waker: Callable[[], None]  # tells the runtime that predicates may have changed (thread-safe)

    @property
    def function(self) -> str | None:
        """The host function running ("host.query"), named in lock events."""

    def scheduling_point(self) -> None:
        """Let the scheduler run another guest thread first (no-op where it cannot choose)."""

    def park(self, ready: Callable[[], bool], timeout_ns: int | None, describe: str,
             external: bool = False) -> bool:
        """Park the guest thread until `ready()`; False when `timeout_ns` passed first.

        `external`: something outside the guest (a plain Python thread) may make it
        ready, so all guest threads parked is not a deadlock.
        """

    def sleep_ns(self, ns: int) -> None:
        """Park the guest thread for `ns` nanoseconds of the execution's clock."""

    def now_ns(self) -> int:
        """The execution's monotonic clock (virtual in fuel mode)."""

    def touch(self, obj: Touched) -> None:
        """`obj` is used by this execution (it is told when the execution ends)."""

    def emit(self, event: LockEvent) -> None:
        """Hand a lock event to the execution's observers (`HostCall.emit`); one may raise GuestTrap."""


_local = threading.local()


def current_context() -> WaitContext | None:
    """The calling thread's wait context, or None for a plain Python thread."""
    return getattr(_local, "ctx", None)


def swap_context(ctx: WaitContext | None) -> WaitContext | None:
    """Install `ctx` for the calling thread; returns the previous one (to restore)."""
    prev = getattr(_local, "ctx", None)
    _local.ctx = ctx
    return prev


def owner_of(ctx: WaitContext | None) -> Owner:
    """Who is acting: the context's guest thread, else the calling Python thread."""
    return ctx.owner if ctx is not None else plain_owner()


def sleep(seconds: float) -> None:
    """`time.sleep` that, in a guest's host function, parks the guest thread (virtual time in fuel mode)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    ctx = current_context()
    if ctx is None:
        time.sleep(seconds)
        return
    ctx.sleep_ns(int(seconds * NS))
