"""What a user host function sees: its `GuestCall` (memory, thread, calls back into the guest),
and the wait context that makes host sync objects park its guest thread.

One `CallContext` per user host call (one level of a guest thread's host call
stack). It is the `sync.WaitContext` the worker installs while the function
runs: a wait on a host object becomes a `Park` request to the fiber side,
a call back into the guest an `Export` request (worker.py, session.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hostapi import Sleep, Until, WaitResult
from .api import GuestCallError, GuestCallTrap
from .sync import HostSyncError, LockEvent, Owner, Touched, current_context
from .thread import ThreadHost
from .worker import YIELD, Export, HostWorker, Park

__all__ = ["CallContext", "GuardedMemory", "GuestCall", "current_call"]


class GuestCall:
    """The guest call a user host function serves (valid until it returns)."""

    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx

    @property
    def thread_id(self) -> int:
        """The wasi-threads id of the calling guest thread (0 for main)."""
        return self._ctx.th.tid

    @property
    def function(self) -> str:
        """The import being served, "module.name"."""
        return self._ctx.function

    @property
    def memory(self) -> GuardedMemory:
        """The caller's linear memory (bounds-checked; raises MemoryFault out of bounds)."""
        return self._ctx.memory

    @property
    def deterministic(self) -> bool:
        """True in fuel mode."""
        return self._ctx.th.run.deterministic

    def read_string(self, ptr: int, length: int, encoding: str = "utf-8") -> str:
        """Decode `length` bytes of guest memory at `ptr`."""
        return self.memory.read(ptr, length).decode(encoding, "replace")

    def call(self, export: str, *args: float) -> Any:
        """Call an export of the calling instance (re-entrantly); returns None, one value or a tuple.

        The export runs as guest code of the calling thread: preemptible,
        and it may call host functions itself. A trap in it raises
        GuestCallTrap (uncaught, it traps the calling guest code too).
        """
        ctx = self._ctx
        ctx.check_live("call back into the guest")
        if ctx.inline:
            raise GuestCallError(f"host function {ctx.function} is marked @nonblocking: it cannot call back "
                                 f"into the guest ({export}); remove @nonblocking")
        if current_context() is not ctx:
            raise GuestCallError(f"GuestCall of {ctx.function} used from another thread or outside its call "
                                 f"(calling {export}): call back into the guest only from the host function itself")
        kind, value = ctx.worker.request(Export(export, args))
        if kind == "error":
            raise GuestCallError(value)
        if kind == "trap":
            message, frames = value
            raise GuestCallTrap(message, frames)
        return value

    def __repr__(self) -> str:
        return f"<GuestCall {self._ctx.function} from thread {self._ctx.th.tid}>"


def current_call() -> GuestCall:
    """The GuestCall of the host function running on this thread."""
    ctx = current_context()
    if not isinstance(ctx, CallContext):
        raise GuestCallError("current_call(): no guest host call is running on this thread")
    return ctx.call


class GuardedMemory:
    """Guest memory that refuses access once its host call is over (the store may be gone)."""

    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx

    def _mem(self) -> Any:
        self._ctx.check_live("access guest memory")
        return self._ctx.th.thread.memory

    def size(self) -> int:
        with self._ctx.th.mem_lock:
            return int(self._mem().size())

    def read(self, ptr: int, length: int) -> bytes:
        with self._ctx.th.mem_lock:
            return bytes(self._mem().read(ptr, length))

    def write(self, ptr: int, data: bytes) -> None:
        with self._ctx.th.mem_lock:
            self._mem().write(ptr, data)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith(("load_", "store_")):
            raise AttributeError(name)

        def access(*args: int) -> Any:
            with self._ctx.th.mem_lock:
                return getattr(self._mem(), name)(*args)

        return access


class CallContext:
    """The sync.WaitContext of one user host call: `function` ("module.name") on guest thread `th`.

    `inline`: a `@nonblocking` function running on the fiber side itself; it
    cannot wait nor call back (there is no worker to suspend).
    """

    def __init__(self, th: ThreadHost, function: str, inline: bool) -> None:
        self.th = th
        self.function = function
        self.inline = inline
        self.owner: Owner = th.owner
        self.waker = th.run.waker
        self.worker: HostWorker = th.worker  # type: ignore[assignment]  # None only when inline: never used then
        self.live = True
        self.acquired: dict[int, Any] = {}  # host locks this call took and still holds (for reports)
        self.call = GuestCall(self)
        self.memory = GuardedMemory(self)

    def check_live(self, what: str) -> None:
        if not self.live:
            raise GuestCallError(f"host function {self.function} tried to {what} after its call "
                                 "ended (the guest has exited or the call was abandoned)")

    # -- sync.WaitContext ---------------------------------------------------------------------------

    def scheduling_point(self) -> None:
        if self.inline or not self.th.run.serial:
            return
        self.worker.request(YIELD)

    def park(self, ready: Callable[[], bool], timeout_ns: int | None, describe: str,
             external: bool = False) -> bool:
        if self.inline:
            raise HostSyncError(f"host function {self.function} is marked @nonblocking but would wait "
                                f"on {describe}; remove @nonblocking")
        result = self.worker.request(Park(Until(ready=ready, timeout_ns=timeout_ns, describe=describe,
                                                external=external)))
        return result is WaitResult.READY

    def sleep_ns(self, ns: int) -> None:
        if self.inline:
            raise HostSyncError(f"host function {self.function} is marked @nonblocking but sleeps")
        self.worker.request(Park(Sleep(ns)))

    def now_ns(self) -> int:
        return self.th.run.now_ns()

    def touch(self, obj: Touched) -> None:
        self.th.run.touch(obj)

    def emit(self, event: LockEvent) -> None:
        """Lock events go to the execution's observers (extensions), as HostCall.emit does."""
        if event.kind in ("acquired", "try-acquired"):
            self.acquired[id(event.lock)] = event.lock
        elif event.kind == "released":
            self.acquired.pop(id(event.lock), None)
        self.th.thread.call.emit(event)
