"""What a test's own host functions use: synchronisation objects, the guest call, markers.

    from pytest_wasmconc.host import GuestCall, Lock, Queue

    db = Lock("db")

    def query(call: GuestCall, ptr: int, n: int) -> int:
        with db:                      # parks the guest thread while another holds it
            return len(call.read_string(ptr, n))

    def test_query(wasm_scheduler):
        out = wasm_scheduler.run("guest.wasm", imports={"db": {"query": query}})

Host functions are plain Python; every preemption mode (fuel, epoch, os)
runs them unchanged. The objects here have the shapes of Python's own
(`threading.Lock`, `queue.Queue`, ...); waiting on one inside a host function
parks the calling guest thread and lets the scheduler run the others, and
is part of deadlock detection. See pytest_wasmconc/runtime/userhost/userimports.py.
"""

from __future__ import annotations

from .runtime.userhost.hostsync import (
    BoundedSemaphore,
    Condition,
    Empty,
    Event,
    Full,
    HostSyncError,
    Lock,
    Queue,
    RLock,
    Semaphore,
    SyncEvent,
    observe,
    sleep,
)
from .runtime.userhost.hostworker import HostCallAborted
from .runtime.userhost.userimports import (
    GuestCall,
    GuestCallError,
    GuestCallTrap,
    HostImportError,
    UserImports,
    current_call,
    nonblocking,
    wasm_signature,
)

__all__ = [
    "BoundedSemaphore", "Condition", "Empty", "Event", "Full", "GuestCall", "GuestCallError", "GuestCallTrap",
    "HostCallAborted", "HostImportError", "HostSyncError", "Lock", "Queue", "RLock", "Semaphore", "SyncEvent",
    "UserImports", "current_call", "nonblocking", "observe", "sleep", "wasm_signature",
]
