"""The lock-order check: potential deadlocks from executions that did not deadlock.

Like ThreadSanitizer's deadlock detector, it keeps a graph with an edge
A -> B whenever a thread asks for lock B while holding lock A, over every
execution the check is attached to (a test's runs and explored schedules),
and reports each cycle: some schedule can make every thread of the cycle
wait for the next one. A cycle whose edges were all taken while holding one
common other lock (a gate lock) cannot deadlock and is not reported; nor do
try-locks close cycles (they never wait).

Events come from the lock pass (instrument/locks.py: the guest's lock
functions and its `wasmconc.lock_*` imports) and from host locks, which
report `LockEvent`s through `HostCall.emit` (the sync objects of
`pytest_wasmconc.host` and the deprecated `HostLock`, runtime/userhost/).
Each edge keeps the thread and the one-frame site where it was taken; in
fuel mode the report replays the execution and stops that thread exactly
there, which gives the full wasm backtrace of both acquisitions
(ThreadSanitizer's two-sided report).

    check = LockOrderCheck()
    Runner().explore(guest, extensions=[check], is_failure=lambda o: check.failed)
    print(check.report())

    graph.py      locks, edges with their witnesses, cycles
    recorder.py   the attachment to one execution: lock events in, edges out
    probe.py      the fuel-mode replay that stops a thread at one acquisition
    report.py     the text of a cycle
    check.py      `LockOrderCheck` and `lock_order_of`
"""

from __future__ import annotations

from .check import OUTCOME_KEY, LockOrderCheck, lock_order_of
from .graph import Cycle, LockInfo, LockKey, LockOrderGraph, Taken, Witness
from .recorder import PROBE_MESSAGE, ExecutionRecord, Recorder
from .report import TITLE, no_names_message

__all__ = [
    "OUTCOME_KEY",
    "PROBE_MESSAGE",
    "TITLE",
    "Cycle",
    "ExecutionRecord",
    "LockInfo",
    "LockKey",
    "LockOrderCheck",
    "LockOrderGraph",
    "Recorder",
    "Taken",
    "Witness",
    "lock_order_of",
    "no_names_message",
]
