"""Waiting for a signal: Event and Condition, in the shapes of Python's own."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from .base import SyncObject
from .context import NS, HostSyncError, current_context, owner_of
from .locks import Lock, RLock
from .owners import Owner

__all__ = ["Condition", "Event"]


class Event(SyncObject):
    """`threading.Event` whose waits park guest threads."""

    kind = "host event"

    def __init__(self, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(name, external)
        self._flag = False

    def _state(self) -> str:
        return " set" if self._flag else " clear"

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        ctx = current_context()
        with self._mutex:
            self._flag = True
            wakers = self._changed()
        self._wake(ctx, wakers)

    def clear(self) -> None:
        with self._mutex:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
        if self._flag:
            return True
        deadline = self._deadline(ctx, timeout)
        while not self._flag:
            if not self._block(ctx, lambda: self._flag, deadline, lambda: f"{self.label} (not set)"):
                return self._flag
        return True


class _Token:
    """One waiter of a Condition: notified in FIFO order."""

    __slots__ = ("notified", "owner")

    def __init__(self, owner: Owner) -> None:
        self.notified = False
        self.owner = owner


class Condition(SyncObject):
    """`threading.Condition` over a host Lock or RLock (an RLock by default)."""

    kind = "host condition"

    def __init__(self, lock: Lock | RLock | None = None, name: str | None = None, *,
                 external: bool = False) -> None:
        super().__init__(name, external)
        if lock is None:
            lock = RLock(name=f"{self.name}.lock", external=external)
        if not isinstance(lock, (Lock, RLock)):
            raise HostSyncError(f"{self.label}: its lock must be a host Lock or RLock "
                                f"(pytest_wasmconc.host.Lock), not {type(lock).__name__}")
        self._lock = lock
        self._tokens: collections.deque[_Token] = collections.deque()

    def _state(self) -> str:
        return f" {len(self._tokens)} waiting"

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def _owned(self) -> bool:
        lock = self._lock
        if isinstance(lock, RLock):
            return lock._is_owned()
        return lock.owner == owner_of(current_context())

    def wait(self, timeout: float | None = None) -> bool:
        if not self._owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
        token = _Token(owner_of(ctx))
        with self._mutex:
            self._tokens.append(token)
        lock = self._lock
        saved = 1
        if isinstance(lock, RLock):
            saved = lock._release_save()
        else:
            lock.release()
        try:
            deadline = self._deadline(ctx, timeout)
            if not token.notified:
                self._block(ctx, lambda: token.notified, deadline, lambda: f"{self.label} (not notified)")
            return token.notified
        finally:
            with self._mutex:
                if not token.notified:
                    try:
                        self._tokens.remove(token)
                    except ValueError:
                        pass
            if isinstance(lock, RLock):
                lock._acquire_restore(saved)
            else:
                lock.acquire()

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        ctx = current_context()
        end = None if timeout is None else self._deadline(ctx, timeout)
        result = predicate()
        while not result:
            wait = None
            if end is not None:
                now = time.monotonic() if ctx is None else ctx.now_ns()
                left = end - now
                if left <= 0:
                    break
                wait = left if ctx is None else left / NS
            self.wait(wait)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if not self._owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        ctx = current_context()
        with self._mutex:
            woke = 0
            while self._tokens and woke < n:
                self._tokens.popleft().notified = True
                woke += 1
            wakers = self._changed() if woke else []
        self._wake(ctx, wakers)

    def notify_all(self) -> None:
        self.notify(len(self._tokens) or 1)

    notifyAll = notify_all
