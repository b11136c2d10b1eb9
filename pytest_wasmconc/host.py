"""What a test's own host functions use: synchronisation objects, the guest call, markers.

    from pytest_wasmconc.host import GuestCall, Lock, Queue

    db = Lock("db")

    def query(call: GuestCall, ptr: int, n: int) -> int:
        with db:                      # parks the guest thread while another holds it
            return len(call.read_string(ptr, n))

    def test_query(wasm_scheduler):
        out = wasm_scheduler.run("guest.wasm", imports={"db": {"query": query}})

Host functions are plain Python: the one model for user code (the generator
`HostFunction`s of `runtime/hostapi.py` are the runtime's contract with its
built-in hosts). Every preemption mode (fuel, epoch, os) runs them
unchanged. The objects here have the shapes of Python's own
(`threading.Lock`, `queue.Queue`, ...); waiting on one inside a host function
parks the calling guest thread and lets the scheduler run the others, and
is part of deadlock detection. Every host lock reports a `LockEvent`
(`observe()`; the lock-order check). See pytest_wasmconc/runtime/userhost/.
"""

from __future__ import annotations

from .runtime.userhost.api import (
    GuestCallError,
    GuestCallTrap,
    HostImportError,
    UserImports,
    nonblocking,
    wasm_signature,
)
from .runtime.userhost.call import GuestCall, current_call
from .runtime.userhost.sync import (
    BoundedSemaphore,
    Condition,
    Empty,
    Event,
    Full,
    HostSyncError,
    Lock,
    LockEvent,
    Queue,
    RLock,
    Semaphore,
    SyncEvent,
    observe,
    sleep,
)
from .runtime.userhost.worker import HostCallAborted

__all__ = [
    "BoundedSemaphore", "Condition", "Empty", "Event", "Full", "GuestCall", "GuestCallError", "GuestCallTrap",
    "HostCallAborted", "HostImportError", "HostSyncError", "Lock", "LockEvent", "Queue", "RLock", "Semaphore",
    "SyncEvent", "UserImports", "current_call", "nonblocking", "observe", "sleep", "wasm_signature",
]
