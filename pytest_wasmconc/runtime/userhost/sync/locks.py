"""Host locks: Lock, RLock, Semaphore, BoundedSemaphore, in the shapes of Python's own.

A blocking acquire inside a guest's host function is a scheduling point
(like a guest's atomic read-modify-write on a lock word) and parks the guest
thread while another holds the lock. Every acquire and release is reported
as a `LockEvent` (events.py).
"""

from __future__ import annotations

from collections.abc import Callable

from .base import SyncObject, check_timeout, emit, label_of
from .context import current_context, owner_of
from .owners import Owner, PythonThreadOwner

__all__ = ["BoundedSemaphore", "Lock", "RLock", "Semaphore"]


class Lock(SyncObject):
    """`threading.Lock` whose waits park guest threads (a scheduling point in the serial modes)."""

    kind = "host lock"

    def __init__(self, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(name, external)
        self._owner: Owner | None = None

    def _state(self) -> str:
        return f" held by {self._owner.label}" if self._owner is not None else " unlocked"

    @property
    def owner(self) -> Owner | None:
        """Who holds the lock now (None when it is free)."""
        return self._owner

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        t = check_timeout(blocking, timeout)
        ctx = current_context()
        me = owner_of(ctx)
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()  # like a guest's atomic RMW on a lock word
        if blocking:
            emit("before", self, me, ctx)
        deadline = self._deadline(ctx, t)
        while not self._take(me):
            if not blocking:
                return False
            if not self._block(ctx, lambda: self._owner is None, deadline,
                               lambda: f"{self.label} (held by {label_of(self._owner)})",
                               external=isinstance(self._owner, PythonThreadOwner)):
                return False
        emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self) -> None:
        ctx = current_context()
        with self._mutex:
            if self._owner is None:
                raise RuntimeError("release unlocked lock")
            owner, self._owner = self._owner, None
            wakers = self._changed()
        emit("released", self, owner, ctx)
        self._wake(ctx, wakers)

    def locked(self) -> bool:
        return self._owner is not None

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # The state alone, for an adapter that waits its own way (the deprecated HostLock):
    # no scheduling point, no event, no parking here.
    def _take(self, me: Owner) -> bool:
        """Take the lock for `me` if it is free."""
        with self._mutex:
            if self._owner is None:
                self._owner = me
                return True
            return False

    def _free(self) -> None:
        """Release the lock, whoever holds it, and wake its waiters."""
        with self._mutex:
            self._owner = None
            wakers = self._changed()
        self._wake(None, wakers)

    def drop_owners(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        with self._mutex:
            if self._owner is None or not is_theirs(self._owner):
                return []
            who = self._owner.label
            self._owner = None
            wakers = self._changed()
        self._wake(None, wakers)
        return [f"{self.label} was still held by {who}; released"]


class RLock(SyncObject):
    """`threading.RLock` whose waits park guest threads."""

    kind = "host rlock"

    def __init__(self, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(name, external)
        self._owner: Owner | None = None
        self._count = 0

    def _state(self) -> str:
        return f" held by {self._owner.label} x{self._count}" if self._owner is not None else " unlocked"

    @property
    def owner(self) -> Owner | None:
        return self._owner

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        t = check_timeout(blocking, timeout)
        ctx = current_context()
        me = owner_of(ctx)
        with self._mutex:
            if self._owner == me:
                self._count += 1
                return True
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()
        if blocking:
            emit("before", self, me, ctx)
        deadline = self._deadline(ctx, t)
        while True:
            with self._mutex:
                if self._owner is None:
                    self._owner, self._count = me, 1
                    break
                if not blocking:
                    return False
            if not self._block(ctx, lambda: self._owner is None, deadline,
                               lambda: f"{self.label} (held by {label_of(self._owner)})",
                               external=isinstance(self._owner, PythonThreadOwner)):
                return False
        emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self) -> None:
        ctx = current_context()
        me = owner_of(ctx)
        with self._mutex:
            if self._owner != me:
                raise RuntimeError("cannot release un-acquired lock")
            self._count -= 1
            if self._count:
                return
            self._owner = None
            wakers = self._changed()
        emit("released", self, me, ctx)
        self._wake(ctx, wakers)

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # Condition support: release completely, then restore the recursion level.
    def _release_save(self) -> int:
        ctx = current_context()
        me = owner_of(ctx)
        with self._mutex:
            if self._owner != me:
                raise RuntimeError("cannot wait on un-acquired lock")
            count, self._owner, self._count = self._count, None, 0
            wakers = self._changed()
        emit("released", self, me, ctx)
        self._wake(ctx, wakers)
        return count

    def _acquire_restore(self, count: int) -> None:
        self.acquire()
        with self._mutex:
            self._count = count

    def _is_owned(self) -> bool:
        return self._owner == owner_of(current_context())

    def drop_owners(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        with self._mutex:
            if self._owner is None or not is_theirs(self._owner):
                return []
            who = self._owner.label
            self._owner, self._count = None, 0
            wakers = self._changed()
        self._wake(None, wakers)
        return [f"{self.label} was still held by {who}; released"]


class Semaphore(SyncObject):
    """`threading.Semaphore` whose waits park guest threads.

    Its events are reported too, but nobody owns a semaphore: the lock-order
    check leaves them out.
    """

    kind = "host semaphore"

    def __init__(self, value: int = 1, name: str | None = None, *, external: bool = False) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        super().__init__(name, external)
        self._value = value

    def _state(self) -> str:
        return f" value={self._value}"

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        ctx = current_context()
        me = owner_of(ctx)
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()
        if blocking:
            emit("before", self, me, ctx)
        deadline = self._deadline(ctx, timeout)
        while True:
            with self._mutex:
                if self._value > 0:
                    self._value -= 1
                    break
                if not blocking:
                    return False
            if not self._block(ctx, lambda: self._value > 0, deadline, lambda: f"{self.label} (value 0)"):
                return False
        emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        ctx = current_context()
        with self._mutex:
            self._check_bound(n)
            self._value += n
            wakers = self._changed()
        emit("released", self, owner_of(ctx), ctx)
        self._wake(ctx, wakers)

    def _check_bound(self, n: int) -> None:
        pass

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """`threading.BoundedSemaphore` whose waits park guest threads."""

    def __init__(self, value: int = 1, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(value, name, external=external)
        self._initial = value

    def _check_bound(self, n: int) -> None:
        if self._value + n > self._initial:
            raise ValueError("Semaphore released too many times")
