"""What a timeline holds: each guest thread's lane of spans (running, parked), instants and arrows.

Plain data, built by `Recorder.timeline()` and read by the exporters
(`chrome_trace.py`, `html_page.py`). Times are nanoseconds from the start of
the execution: virtual time in fuel mode (the scheduler's clock, 1 fuel unit
~ 1 ns), wall time in epoch and os mode (`Timeline.clock` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Arrow", "Instant", "Lane", "Span", "Timeline"]

# Span kinds
RUN = "run"  # a quantum (serial modes), or a stretch between parks (os mode)
PARKED = "parked"  # blocked in a wait: futex, sleep, a host object

# Instant kinds
CALL = "call"  # a host call (WASI, user host functions)
LOCK = "lock"  # a lock acquired, released, or an acquisition begun
NOTIFY = "notify"  # memory.atomic.notify that woke threads
WAKE = "wake"  # a parked thread made runnable
SPAWN = "spawn"  # thread-spawn
EXIT = "exit"  # a thread finished (returned, trapped, was stopped)
YIELD = "yield"  # sched_yield
FAILURE = "failure"  # what made the execution fail: a trap, a deadlock, a hang, a race, an exit code

# Arrow kinds
WOKE = "woke"  # from a notify to the thread it woke
SPAWNED = "spawned"  # from thread-spawn to the new thread's start
WAITS_FOR = "waits-for"  # deadlock: from a blocked thread to the holder of the lock it waits for
RACE = "race"  # a race pair: from one access to the other


@dataclass
class Span:
    """An interval on one thread's lane; spans of one lane never overlap."""

    tid: int
    start: int
    end: int
    kind: str
    label: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass
class Instant:
    """A point on a lane (`tid`), or on the whole execution when `tid` is None."""

    tid: int | None
    ts: int
    kind: str
    label: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Arrow:
    """A causal edge between two lanes: a notify and the thread it woke, a spawn, a wait-for."""

    kind: str
    src_tid: int
    src_ts: int
    dst_tid: int
    dst_ts: int
    label: str


@dataclass
class Lane:
    """One guest thread."""

    tid: int
    name: str
    start: int
    end: int | None = None  # None: still alive when the execution ended
    spawned_by: int | None = None
    final_state: str = ""  # as the report says: finished, parked, running, trapped, ...


@dataclass
class Timeline:
    """One execution of a guest, as lanes of spans with instants and arrows."""

    title: str  # the guest, e.g. "guests/c/lock_order.wasm"
    clock: str  # "virtual" (fuel mode) or "wall"
    mode: str  # the preempt mode
    end: int  # when the execution ended (ns)
    summary: str  # how it ended, e.g. "deadlock", "exited with code 1"
    failed: bool
    lanes: list[Lane] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    instants: list[Instant] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # seed, policy, steps, token, ... (shown as-is)
    notes: list[str] = field(default_factory=list)  # what the reader should know (events dropped, a re-run)

    def lane(self, tid: int) -> Lane | None:
        for lane in self.lanes:
            if lane.tid == tid:
                return lane
        return None

    def mark_failure(self, tid: int | None, label: str, ts: int | None = None, **args: Any) -> None:
        """Add a failure mark (a front end adds what only it knows: a race pair, a check's verdict)."""
        self.instants.append(Instant(tid, self.end if ts is None else ts, FAILURE, label, dict(args)))
