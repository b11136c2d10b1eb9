"""HostLock (deprecated): a host lock for generator `HostFunction`s, kept for one release.

Write host functions as plain callables instead and take a
`pytest_wasmconc.host.Lock` in them (one sync-object family for user code):

    db = Lock("db")

    def with_db(x: int) -> int:
        with db:                          # parks the calling guest thread while another holds it
            return x + 1

    runner.run(guest, imports={"host": {"with_db": with_db}})

A `HostLock` is an adapter over that Lock's state: its state is per
execution (one host `Lock` in `HostCall.execution_state`), a guest thread
asking for it while another holds it parks on an `Until` (every mode), and
it reports the same `LockEvent`s through `HostCall.emit`, so the lock-order
check sees it like any host lock::

    db = HostLock("db")

    @host("host", "with_db", "i32", "i32")
    def with_db(call, x):
        return (yield from db.locked(call, lambda: x + 1))
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable, Generator
from typing import TypeVar

from ..hostapi import GuestTrap, HostCall, Until, Wait, WaitResult
from .sync import GuestOwner, Lock, LockEvent

__all__ = ["HostLock", "HostLockEvent"]

T = TypeVar("T")

HostLockEvent = LockEvent  # its name before host locks had one event type (kind, lock)

# An execution's number, kept in its state, makes the owners of its guest threads
# (GuestOwner) tell them apart from another execution's.
_EXECUTION = "wasmconc.HostLock.execution"
_executions = itertools.count(1)


class HostLock:
    """A non-recursive lock for generator host functions; the holder is a guest thread (deprecated)."""

    def __init__(self, name: str = "host lock") -> None:
        warnings.warn("HostLock is deprecated and goes away in the next release: write the host function as a "
                      "plain callable (imports=...) and take a pytest_wasmconc.host.Lock in it",
                      DeprecationWarning, stacklevel=2)
        self.name = name
        self._key = ("wasmconc.HostLock", id(self))
        self._mutex = threading.Lock()  # host calls run on many OS threads in os mode

    def _state(self, call: HostCall) -> Lock:
        """This execution's lock."""
        store = call.execution_state
        lock = store.get(self._key)
        if lock is None:
            with self._mutex:
                store.setdefault(_EXECUTION, next(_executions))
                lock = store.setdefault(self._key, Lock(self.name))
        assert isinstance(lock, Lock)
        return lock

    @staticmethod
    def _owner(call: HostCall) -> GuestOwner:
        return GuestOwner(call.execution_state[_EXECUTION], call.thread_id)

    def acquire(self, call: HostCall) -> Generator[Wait, WaitResult, None]:
        """Take the lock, parking the calling guest thread while another holds it (`yield from`)."""
        lock = self._state(call)
        me = self._owner(call)
        call.emit(LockEvent("before", self, me))
        while not lock._take(me):
            holder = lock.owner
            if holder is None:
                continue  # released since: try again
            yield Until(lambda: lock.owner is None,
                        describe=f"host lock {self.name!r} (held by thread {_tid(holder)})")
        call.emit(LockEvent("acquired", self, me))

    def try_acquire(self, call: HostCall) -> bool:
        """Take the lock if it is free; never blocks (usable from plain host functions)."""
        lock = self._state(call)
        me = self._owner(call)
        if not lock._take(me):
            return False
        call.emit(LockEvent("try-acquired", self, me))
        return True

    def release(self, call: HostCall) -> None:
        """Release the lock; the calling guest thread must hold it (else the thread traps)."""
        lock = self._state(call)
        holder = lock.owner
        if holder is None or _tid(holder) != call.thread_id:
            who = "nobody" if holder is None else f"thread {_tid(holder)}"
            raise GuestTrap(f"host lock {self.name!r} released by thread {call.thread_id}, but {who} holds it")
        call.emit(LockEvent("released", self, holder))
        lock._free()
        call.poke()

    def holder(self, call: HostCall) -> int | None:
        """The guest thread holding the lock in the caller's execution (None: free)."""
        holder = self._state(call).owner
        return None if holder is None else _tid(holder)

    def locked(self, call: HostCall, body: Callable[[], T]) -> Generator[Wait, WaitResult, T]:
        """Run `body()` holding the lock: `return (yield from lock.locked(call, lambda: ...))`."""
        yield from self.acquire(call)
        try:
            return body()
        finally:
            self.release(call)

    @property
    def label(self) -> str:
        return f"host lock {self.name!r}"

    def __repr__(self) -> str:
        return f"<HostLock {self.name!r}>"


def _tid(owner: object) -> int:
    assert isinstance(owner, GuestOwner)  # only HostLock takes its execution's lock
    return owner.tid
