"""The data-race check: plain accesses to shared memory that happens-before does not order.

Like ThreadSanitizer, it reports a race from ONE execution in which both
accesses run, whether or not that interleaving made the output wrong: two
accesses to overlapping bytes, at least one a write, from different threads,
with no happens-before between them. Happens-before is program order, thread
spawn (parent before child), every atomic access as synchronization on its
address (acquire on read, release on write, both for read-modify-writes, so
a notify orders the wait it wakes and an exiting thread's last atomic store
orders its joiner), and host locks (`LockEvent`s).

    check = RaceCheck(suppress=["legacy_.*"])
    outcome = Runner().run("guest.wasm", extensions=[check])
    failure = check.inspect(outcome)           # CheckFailure with the report, or None

    access_pass.py    the load-time pass: each shared-memory access reports itself (its source line:
                      instrument/lines.py, the DWARF reader every report uses)
    tables.py         libc's sync functions and the default suppressions, each justified
    detector.py       vector clocks with FastTrack epochs over threads, sync keys and shadow memory
    recorder.py       the attachment to one execution: reports in, races out (Python: the reference)
    native.py         the recorder the check uses by default: the reports and the detector in C
    _native_c/        that C: detector.py's algorithm over growable tables, called by Wasmtime directly
    probe.py          the fuel-mode replay that stops a thread at one access (its backtrace)
    report.py         the text of a race
    check.py          `RaceCheck` and `races_of`
"""

from __future__ import annotations

from .access_pass import AccessSite, RaceInstrumentation, RacePass, SiteKind, SyncFunction
from .check import OUTCOME_KEY, ExecutionRaces, RaceCheck, races_of
from .detector import Access, Detector, Race
from .report import TITLE, RaceReport
from .tables import DEFAULT_SUPPRESSIONS, DEFAULT_SYNC_FUNCTIONS, SuppressionError

__all__ = [
    "DEFAULT_SUPPRESSIONS",
    "DEFAULT_SYNC_FUNCTIONS",
    "OUTCOME_KEY",
    "TITLE",
    "Access",
    "AccessSite",
    "Detector",
    "ExecutionRaces",
    "Race",
    "RaceCheck",
    "RaceInstrumentation",
    "RacePass",
    "RaceReport",
    "SiteKind",
    "SuppressionError",
    "SyncFunction",
    "races_of",
]
