"""The host sync objects: Lock, RLock, Semaphore, Event, Condition, Queue and sleep for host functions.

They have the shapes of Python's own (`threading.Lock`, `queue.Queue`, ...)
and work from any Python thread. Their point is what happens when a *guest
thread's host function* waits on one: instead of blocking the OS thread
(which, in the deterministic modes, is the one thread every guest thread
runs on), the calling guest thread parks and the scheduler runs the others.
The wait is then a scheduling point and part of deadlock detection: a guest
thread parked on a host lock held by another parked guest thread is a
deadlock, reported with the lock's name and holder.

    owners.py       who holds or waits: a guest thread, or a plain Python thread
    context.py      the wait context a host call installs; `sleep`
    events.py       `LockEvent`, the one event every host lock reports; `observe`
    base.py         the state and the waiting every object shares
    locks.py        Lock, RLock, Semaphore, BoundedSemaphore
    conditions.py   Event, Condition
    queues.py       Queue (and queue's Empty, Full)
"""

from __future__ import annotations

from .base import SyncObject
from .conditions import Condition, Event
from .context import HostSyncError, Touched, WaitContext, current_context, sleep, swap_context
from .events import LockEvent, observe
from .locks import BoundedSemaphore, Lock, RLock, Semaphore
from .owners import GuestOwner, Owner, PythonThreadOwner
from .queues import Empty, Full, Queue

SyncEvent = LockEvent  # its name before host locks had one event type; still public (pytest_wasmconc.SyncEvent)

__all__ = [
    "BoundedSemaphore",
    "Condition",
    "Empty",
    "Event",
    "Full",
    "GuestOwner",
    "HostSyncError",
    "Lock",
    "LockEvent",
    "Owner",
    "PythonThreadOwner",
    "Queue",
    "RLock",
    "Semaphore",
    "SyncEvent",
    "SyncObject",
    "Touched",
    "WaitContext",
    "current_context",
    "observe",
    "sleep",
    "swap_context",
]
