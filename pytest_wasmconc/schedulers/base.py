"""The one interface every scheduling policy implements.

A policy knows nothing of wasmtime or pytest: it sees thread ids and the
reason the scheduler is asking. The runtime calls `pick` at every scheduling
point (end of a fuel quantum, a wait/notify, an atomic read-modify-write when
instrumented, a spawn, an exit) and `slice_for` before resuming a thread to
learn how much fuel the next quantum gets. Given the same seed and the same
sequence of questions, a policy must give the same answers: that is what
makes a schedule replayable.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["POLICY_VERSION", "NativePlan", "Pause", "Policy", "PolicyConfig", "PolicyError", "SwitchReason"]

# What a seed means to the policies: replay tokens carry this number and refuse another
# (runtime/token.py), as they do the instrumenter's SCHEDULE_VERSION, since a seed replayed by a
# policy that now answers otherwise would run another schedule without a word. Bump it whenever
# a policy's answers for a seed change (2: the random walk's yield-point stickiness).
POLICY_VERSION = 2


class PolicyError(Exception):
    """A policy cannot continue (e.g. a replayed schedule diverged)."""


class Pause(Exception):  # noqa: N818 (a request, not an error)
    """Raised by `pick` to end the execution right there, every thread where it stands.

    The serial driver ends the execution as a hang (limit "pause") and takes every live
    thread's backtrace: a thread suspended at the end of its quantum shows the exact place it
    was preempted. The schedule shrinker pauses a replay at each context switch it prints.
    """


class SwitchReason(enum.Enum):
    """Why the scheduler is asking for the next thread."""

    START = "start"  # first decision of an execution
    PREEMPTED = "preempted"  # the current thread used up its quantum
    YIELDED = "yielded"  # the current thread reached a scheduling point (atomic op, notify, host call)
    BLOCKED = "blocked"  # the current thread parked (wait, sleep, blocking read)
    SPAWNED = "spawned"  # the current thread created a new thread
    EXITED = "exited"  # the current thread finished
    # The current thread gave up the processor and stays runnable (sched_yield: a GiveUp wait): it
    # asks for another thread to run, where a scheduling point only offers to let one.
    GAVE_UP = "gave_up"


@dataclass(frozen=True)
class PolicyConfig:
    """Settings every policy is built from (the token stores them)."""

    seed: int = 0
    slice: int = 10_000  # fuel per quantum (the mean, for policies that vary it)
    depth: int = 3  # PCT: bug depth d (d-1 priority change points)
    decisions: tuple[int, ...] = ()  # replay: the recorded thread choices
    slices: tuple[int, ...] = ()  # replay: the recorded quantum lengths
    pct_steps: int | None = None  # PCT: k, the expected number of steps (None: pct.DEFAULT_STEPS)
    pct_choices: int | None = None  # the portfolio's classic PCT: k counted over every decision with a choice
    # What a hot (racy) access charges the counter, 0 when the program has none: a policy that wants
    # its preemptions right before hot accesses sizes its quanta to that cost (PCT does).
    hot_cost: int = 0
    # The threads whose visible plain accesses were free in the execution a replay reproduces (the random
    # walk's `charges_accesses`): the replay policy charges them alike, or its quanta would end elsewhere.
    free_accesses: tuple[int, ...] = ()


class Policy(Protocol):
    """A scheduling policy (one module per policy, selected by name)."""

    name: str

    def new_execution(self) -> None:
        """Reset per-execution state; called before the first `pick` of each execution."""
        ...

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        """Choose the thread to run next.

        `runnable` is sorted ascending and never empty; `current` is the
        thread that ran last (None at START, or when it exited), and is in
        `runnable` only when it may continue.
        """
        ...

    def slice_for(self, thread: int) -> int:
        """Fuel for the quantum about to start on `thread` (>= 1)."""
        ...

    def on_spawn(self, thread: int) -> None:
        """A new thread id exists (PCT assigns it a priority)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Policy-specific state worth printing in a report (JSON-serialisable)."""
        ...


@dataclass(frozen=True)
class NativePlan:
    """How the runtime's native step loop (runtime/lane/_lane_c/steps.c) answers for a policy.

    A policy that offers one (`native_plan()`) also has `native_last()` and
    `native_sync(picks, last)`: the loop starts from the policy's state and
    hands back how far it moved it. The loop draws from the policy's own
    random streams, the way `randrange` does, so a seed names the same
    schedule with the loop or without it. For a policy without a plan the
    runtime makes a "python" one: the loop calls its `pick` and `slice_for`
    as the Python loop would.
    """

    kind: str  # "rr", "random", "pct" or "python"
    slice: int  # rr: the quantum; random: this execution's mean quantum
    choice_bits: Any = None  # random: the thread-choice stream's getrandbits
    slice_bits: Any = None  # random: the slice stream's getrandbits
    decisions: list[int] | None = None  # Recording's lists, appended to by the loop
    slices: list[int] | None = None
    stay: int = 0  # random: the execution's yield-point stickiness (random_walk.STAY_WEIGHTS), 0 none
    # pct: the policy itself (schedulers/pct.py): the loop reads its priorities and keeps its counters,
    # and leaves it the decisions at change points; choice_bits is then its fair tail's stream
    pct: Any = None
    # What the loop calls when the policy decides itself: a "python" plan's (the runtime's, for a policy
    # without a plan of its own: every decision), and pct's at its change points
    pick: Any = None
    slice_for: Any = None
