"""Synchronisation objects for host functions: Lock, RLock, Event, Condition, Semaphore, Queue, sleep.

They have the shapes of Python's own (`threading.Lock`, `queue.Queue`, ...)
and work from any Python thread. Their point is what happens when a *guest
thread's host function* waits on one: instead of blocking the OS thread
(which, in the deterministic modes, is the one thread every guest thread
runs on), the calling guest thread parks and the scheduler runs the others.
The wait is then a scheduling point and part of deadlock detection: a guest
thread parked on a host lock held by another parked guest thread is a
deadlock, reported with the lock's name and holder.

How: host functions of user imports run on a helper thread per guest thread
(see hostworker.py), which installs a `WaitContext` for the call. Every
object here asks `current_context()`: with none (a plain Python thread: the
test itself, a thread of the application) it waits on a real condition
variable; with one, it asks the context to park the guest thread until a
side-effect-free predicate holds.

Observers (the lock-order check) see every acquire and release of a Lock,
RLock or Semaphore through `observe()`.
"""

from __future__ import annotations

import collections
import itertools
import queue as _queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "BoundedSemaphore",
    "Condition",
    "Empty",
    "Event",
    "Full",
    "HostSyncError",
    "Lock",
    "Owner",
    "Queue",
    "RLock",
    "Semaphore",
    "SyncEvent",
    "WaitContext",
    "current_context",
    "observe",
    "sleep",
    "swap_context",
]

Empty = _queue.Empty
Full = _queue.Full

_NS = 1_000_000_000


class HostSyncError(RuntimeError):
    """A host synchronisation object was used in a way it cannot support (named in the message)."""


class Owner(Protocol):
    """Who holds or waits on an object: a guest thread of an execution, or a plain Python thread."""

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class PythonThreadOwner:
    """A Python thread that is not running a guest's host function."""

    ident: int
    name: str

    @property
    def label(self) -> str:
        return f"Python thread {self.name!r}"


class WaitContext(Protocol):
    """What a host function's caller provides while the host function runs (see hostworker.py)."""

    owner: Owner
    waker: Callable[[], None]  # tells the runtime that predicates may have changed (thread-safe)

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

    def touch(self, obj: _HostObject) -> None:
        """`obj` is used by this execution (it is told when the execution ends)."""


_local = threading.local()


def current_context() -> WaitContext | None:
    """The calling thread's wait context, or None for a plain Python thread."""
    return getattr(_local, "ctx", None)


def swap_context(ctx: WaitContext | None) -> WaitContext | None:
    """Install `ctx` for the calling thread; returns the previous one (to restore)."""
    prev = getattr(_local, "ctx", None)
    _local.ctx = ctx
    return prev


def _plain_owner() -> PythonThreadOwner:
    t = threading.current_thread()
    return PythonThreadOwner(threading.get_ident(), t.name)


# -- observers -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SyncEvent:
    """What a host lock (Lock, RLock, Semaphore) does, for observers.

    `kind` uses hostlocks.HostLockEvent's words: "before" (a blocking acquire
    starts), "acquired", "try-acquired" (a non-blocking acquire succeeded),
    "released". `owner` is the guest thread (`.tid`, `.label`, `.execution`) or a
    `PythonThreadOwner`; `function` is the host function running ("host.query"),
    None outside host functions. Inside a guest's host function the event also
    goes to the execution's observers (`HostCall.emit`), like a HostLock's.
    """

    kind: str
    lock: _HostObject
    owner: Owner
    function: str | None

    @property
    def name(self) -> str:
        return self.lock.name


_observers: list[Callable[[SyncEvent], None]] = []


def observe(callback: Callable[[SyncEvent], None]) -> Callable[[], None]:
    """Call `callback` with a SyncEvent for every host lock operation; returns a function that stops it.

    Callbacks run on the thread doing the operation, after it succeeded, with no
    internal lock held. They must not block.
    """
    _observers.append(callback)

    def stop() -> None:
        try:
            _observers.remove(callback)
        except ValueError:
            pass

    return stop


def _emit(kind: str, obj: _HostObject, owner: Owner, ctx: WaitContext | None) -> None:
    emit = getattr(ctx, "emit", None)
    if not _observers and emit is None:
        return
    ev = SyncEvent(kind, obj, owner, getattr(ctx, "function", None))
    observers = tuple(_observers)  # a snapshot: callbacks may (un)subscribe meanwhile
    for cb in observers:
        cb(ev)
    if emit is not None:
        emit(ev)  # the execution's observers; one may raise GuestTrap to stop this thread here


# -- the common part -------------------------------------------------------------------

_names = itertools.count(1)


class _HostObject:
    """State guarded by `_mutex`; plain threads wait on `_cond`, guest threads through their context."""

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
        return ctx.now_ns() + int(timeout * _NS)

    def _forget(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        """An execution ended: drop what its guest threads still hold; describe what was dropped."""
        return []


def _check_timeout(blocking: bool, timeout: float | None) -> float | None:
    """threading's convention: timeout -1 (or None) waits forever; only blocking calls take one."""
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    return float(timeout)


def _owner_of(ctx: WaitContext | None) -> Owner:
    return ctx.owner if ctx is not None else _plain_owner()


# -- locks -------------------------------------------------------------------------------


class Lock(_HostObject):
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
        t = _check_timeout(blocking, timeout)
        ctx = current_context()
        me = _owner_of(ctx)
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()  # like a guest's atomic RMW on a lock word
        if blocking:
            _emit("before", self, me, ctx)
        deadline = self._deadline(ctx, t)
        while True:
            with self._mutex:
                if self._owner is None:
                    self._owner = me
                    break
                if not blocking:
                    return False
            if not self._block(ctx, lambda: self._owner is None, deadline,
                               lambda: f"{self.label} (held by {_label(self._owner)})",
                               external=isinstance(self._owner, PythonThreadOwner)):
                return False
        _emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self) -> None:
        ctx = current_context()
        with self._mutex:
            if self._owner is None:
                raise RuntimeError("release unlocked lock")
            owner, self._owner = self._owner, None
            wakers = self._changed()
        _emit("released", self, owner, ctx)
        self._wake(ctx, wakers)

    def locked(self) -> bool:
        return self._owner is not None

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _forget(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        with self._mutex:
            if self._owner is not None and is_theirs(self._owner):
                who = self._owner.label
                self._owner = None
                wakers = self._changed()
            else:
                return []
        self._wake(None, wakers)
        return [f"{self.label} was still held by {who}; released"]


class RLock(_HostObject):
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
        t = _check_timeout(blocking, timeout)
        ctx = current_context()
        me = _owner_of(ctx)
        with self._mutex:
            if self._owner == me:
                self._count += 1
                return True
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()
        if blocking:
            _emit("before", self, me, ctx)
        deadline = self._deadline(ctx, t)
        while True:
            with self._mutex:
                if self._owner is None:
                    self._owner, self._count = me, 1
                    break
                if not blocking:
                    return False
            if not self._block(ctx, lambda: self._owner is None, deadline,
                               lambda: f"{self.label} (held by {_label(self._owner)})",
                               external=isinstance(self._owner, PythonThreadOwner)):
                return False
        _emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self) -> None:
        ctx = current_context()
        me = _owner_of(ctx)
        with self._mutex:
            if self._owner != me:
                raise RuntimeError("cannot release un-acquired lock")
            self._count -= 1
            if self._count:
                return
            self._owner = None
            wakers = self._changed()
        _emit("released", self, me, ctx)
        self._wake(ctx, wakers)

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # Condition support: release completely, then restore the recursion level.
    def _release_save(self) -> int:
        ctx = current_context()
        me = _owner_of(ctx)
        with self._mutex:
            if self._owner != me:
                raise RuntimeError("cannot wait on un-acquired lock")
            count, self._owner, self._count = self._count, None, 0
            wakers = self._changed()
        _emit("released", self, me, ctx)
        self._wake(ctx, wakers)
        return count

    def _acquire_restore(self, count: int) -> None:
        self.acquire()
        with self._mutex:
            self._count = count

    def _is_owned(self) -> bool:
        return self._owner == _owner_of(current_context())

    def _forget(self, is_theirs: Callable[[Owner], bool]) -> list[str]:
        with self._mutex:
            if self._owner is not None and is_theirs(self._owner):
                who = self._owner.label
                self._owner, self._count = None, 0
                wakers = self._changed()
            else:
                return []
        self._wake(None, wakers)
        return [f"{self.label} was still held by {who}; released"]


def _label(owner: Owner | None) -> str:
    return owner.label if owner is not None else "nobody"


class Semaphore(_HostObject):
    """`threading.Semaphore` whose waits park guest threads."""

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
        me = _owner_of(ctx)
        if ctx is not None:
            ctx.touch(self)
            if blocking:
                ctx.scheduling_point()
        if blocking:
            _emit("before", self, me, ctx)
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
        _emit("acquired" if blocking else "try-acquired", self, me, ctx)
        return True

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        ctx = current_context()
        with self._mutex:
            self._check_bound(n)
            self._value += n
            wakers = self._changed()
        _emit("released", self, _owner_of(ctx), ctx)
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


# -- events and conditions --------------------------------------------------------------------


class Event(_HostObject):
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
    __slots__ = ("notified", "owner")

    def __init__(self, owner: Owner) -> None:
        self.notified = False
        self.owner = owner


class Condition(_HostObject):
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
        return lock._owner == _owner_of(current_context())

    def wait(self, timeout: float | None = None) -> bool:
        if not self._owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
        token = _Token(_owner_of(ctx))
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
                wait = left if ctx is None else left / _NS
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


# -- queues ----------------------------------------------------------------------------------


class Queue(_HostObject):
    """`queue.Queue` (FIFO) whose blocking get/put park guest threads; raises queue.Empty/Full."""

    kind = "host queue"

    def __init__(self, maxsize: int = 0, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(name, external)
        self.maxsize = maxsize
        self._items: collections.deque[Any] = collections.deque()
        self._unfinished = 0

    def _state(self) -> str:
        return f" {len(self._items)}/{self.maxsize or 'inf'} items"

    def _full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return self._full()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
            if block:
                ctx.scheduling_point()
        deadline = self._deadline(ctx, timeout) if block else None
        while True:
            with self._mutex:
                if not self._full():
                    self._items.append(item)
                    self._unfinished += 1
                    wakers = self._changed()
                    break
                if not block:
                    raise Full
            if not self._block(ctx, lambda: not self._full(), deadline,
                               lambda: f"{self.label} (full: {len(self._items)} items)"):
                raise Full
        self._wake(ctx, wakers)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
            if block:
                ctx.scheduling_point()
        deadline = self._deadline(ctx, timeout) if block else None
        while True:
            with self._mutex:
                if self._items:
                    item = self._items.popleft()
                    wakers = self._changed()
                    break
                if not block:
                    raise Empty
            if not self._block(ctx, lambda: bool(self._items), deadline, lambda: f"{self.label} (empty)"):
                raise Empty
        self._wake(ctx, wakers)
        return item

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def task_done(self) -> None:
        ctx = current_context()
        with self._mutex:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1
            wakers = self._changed() if self._unfinished == 0 else []
        self._wake(ctx, wakers)

    def join(self) -> None:
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
        while self._unfinished:
            self._block(ctx, lambda: self._unfinished == 0, None,
                        lambda: f"{self.label} (join: {self._unfinished} unfinished)")

    def __iter__(self) -> Iterator[Any]:  # a snapshot, for assertions in tests
        with self._mutex:
            return iter(list(self._items))


# -- sleeping -------------------------------------------------------------------------------


def sleep(seconds: float) -> None:
    """`time.sleep` that, in a guest's host function, parks the guest thread (virtual time in fuel mode)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    ctx = current_context()
    if ctx is None:
        time.sleep(seconds)
        return
    ctx.sleep_ns(int(seconds * _NS))
