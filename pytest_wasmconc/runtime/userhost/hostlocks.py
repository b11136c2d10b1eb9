"""Host locks: a lock an embedding's host functions take on behalf of the calling guest thread.

A guest thread that calls a host function taking a `HostLock` held by
another guest thread is parked (in every mode) until it is released, so a
host lock can deadlock with guest locks exactly like a real embedding's
lock would; and it reports what it does (`HostCall.emit`), so the
lock-order check sees cycles that mix host and guest locks::

    db = HostLock("db")

    @host("host", "with_db", "i32", "i32")
    def with_db(call, x):
        yield from db.acquire(call)       # a generator host function: it may block
        try:
            return x + 1
        finally:
            db.release(call)

A lock may stay held across host calls (`acquire` in one import,
`release` in another). Its state is per execution (`HostCall.execution_state`),
so one `HostLock` serves every execution of a test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from ..hostapi import GuestTrap, HostCall, Until, Wait, WaitResult

__all__ = ["HostLock", "HostLockEvent"]

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class HostLockEvent:
    """What a host lock emits: "before" (a blocking acquire starts), "acquired",
    "try-acquired" (a non-blocking acquire succeeded), "released"."""

    kind: str
    lock: HostLock


class _State:
    __slots__ = ("owner",)

    def __init__(self) -> None:
        self.owner: int | None = None


class HostLock:
    """A non-recursive lock for host functions; the holder is a guest thread."""

    def __init__(self, name: str = "host lock") -> None:
        self.name = name
        self._key = ("wasmconc.HostLock", id(self))
        self._mutex = threading.Lock()  # host calls run on many OS threads in os mode

    def _state(self, call: HostCall) -> _State:
        store = call.execution_state
        st = store.get(self._key)
        if st is None:
            with self._mutex:
                st = store.setdefault(self._key, _State())
        assert isinstance(st, _State)
        return st

    def acquire(self, call: HostCall) -> Generator[Wait, WaitResult, None]:
        """Take the lock, parking the calling guest thread while another holds it (`yield from`)."""
        st = self._state(call)
        call.emit(HostLockEvent("before", self))
        while True:
            with self._mutex:
                if st.owner is None:
                    st.owner = call.thread_id
                    break
                holder = st.owner
            yield Until(lambda: st.owner is None, describe=f"host lock {self.name!r} (held by thread {holder})")
        call.emit(HostLockEvent("acquired", self))

    def try_acquire(self, call: HostCall) -> bool:
        """Take the lock if it is free; never blocks (usable from plain host functions)."""
        st = self._state(call)
        with self._mutex:
            if st.owner is not None:
                return False
            st.owner = call.thread_id
        call.emit(HostLockEvent("try-acquired", self))
        return True

    def release(self, call: HostCall) -> None:
        """Release the lock; the calling guest thread must hold it (else the thread traps)."""
        st = self._state(call)
        if st.owner != call.thread_id:
            who = "nobody" if st.owner is None else f"thread {st.owner}"
            raise GuestTrap(f"host lock {self.name!r} released by thread {call.thread_id}, but {who} holds it")
        call.emit(HostLockEvent("released", self))
        with self._mutex:
            st.owner = None
        call.poke()

    def holder(self, call: HostCall) -> int | None:
        """The guest thread holding the lock in the caller's execution (None: free)."""
        return self._state(call).owner

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
