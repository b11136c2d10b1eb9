"""Depth-first search ("dfs"): one execution of a bounded exhaustive enumeration, a forced prefix then no preemption.

The enumeration itself (which schedule comes next, the preemption bound, the
sleep sets) lives in `dfs_search.DfsSearch`, outside any execution: a policy is
rebuilt from its config for every execution, and a DFS is not a seed per
schedule but a walk over a tree of decisions. This policy is one walk from the
root: it answers the first `len(config.decisions)` picks with those threads
(the prefix the search chose), then never preempts: the thread that may continue
does, and when none may (start, block, exit) the lowest runnable id runs. It
records every question and answer, which is what the search reads back.

A replay token of a dfs schedule is its whole decision list under the name
"dfs" (not "replay"): the policy rebuilt from it answers every pick from the
list and, past it, the same default the original run took, so the schedule
runs again exactly; a recorded thread that is not runnable is a divergence
(`PolicyError`), as for the replay policy.

Step mode. Every decision of a DFS should sit at a visible operation and at no
other point (see `STEP_ACCESS_COST`). Atomics, waits, notifies, spawns, host
calls and exits already end a step at a scheduling point (YIELDED, BLOCKED,
SPAWNED, EXITED). Plain shared accesses at the `shared` level end a quantum
only through the preemption counter, which loop headers and function entries
charge too: this policy asks the runtime (`step_access_cost`) to make every
visible plain access charge `STEP_ACCESS_COST` and grants quanta one unit
smaller, so a quantum runs past the access it starts at and ends right before
the next one, whatever the loop headers and calls between them charged. A
preemption at a loop header or function entry is equivalent to one at the
thread's next visible operation (what runs in between touches only the thread's
own state), so deciding only at visible operations loses no behaviour, and
the tree has one level per visible operation instead of one per loop iteration.

Footprints. The dfs policy's loads at the `shared` level announce at every
scheduling point what the next step touches (instrument/footprints.py); the
serial driver logs, per decision, what the chosen step touched into
`footprint_log()` (runtime/drivers/footprints.py), and the search's sleep
sets read them back (`execution_footprints`; dfs_search.py says what a
footprint covers).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from .base import PolicyConfig, PolicyError, SwitchReason

__all__ = ["STEP_ACCESS_COST", "STEP_SLICE", "Access", "Dfs", "Footprint", "PickRecord", "count_preemptions",
           "default_choice"]

# What one step touches: (location, is_write) pairs; None when unknown (dependent on every step).
Access = tuple[Hashable, bool]
Footprint = frozenset[Access] | None

# What a visible plain access charges in step mode, and the quantum granted (one less): the
# counter goes negative at the first access after the one a quantum starts at, never at a
# loop header before 2**28 instructions (a stretch that long without a visible operation is
# cut there, a harmless extra decision), and the wall-clock backstop still gets a look within
# a fraction of a second of pure computation.
STEP_ACCESS_COST = 1 << 28
STEP_SLICE = STEP_ACCESS_COST - 1


@dataclass(frozen=True)
class PickRecord:
    """One decision of an execution: who could run, who ran last and may continue (or None), who was chosen."""

    runnable: tuple[int, ...]
    current: int | None
    chosen: int

    @property
    def preempts(self) -> bool:
        """Choosing `chosen` here switches away from a thread that could have continued."""
        return self.current is not None and self.chosen != self.current


def default_choice(runnable: Sequence[int], current: int | None) -> int:
    """The choice that costs no preemption: the thread that may continue, else the lowest runnable id."""
    return current if current is not None else runnable[0]


def count_preemptions(picks: Sequence[PickRecord]) -> int:
    return sum(1 for p in picks if p.preempts)


class Dfs:
    """Answer from a forced prefix, then without preempting; keep every pick for the search."""

    name = "dfs"
    # The token keeps the decision list and replays it under this policy (runner.py, token.py).
    replays_from_decisions = True
    # Asked by the serial driver: what a visible plain access charges while a choice exists.
    step_access_cost = STEP_ACCESS_COST

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._prefix = tuple(config.decisions)
        for i, thread in enumerate(self._prefix):
            if thread < 0:
                raise ValueError(f"dfs policy: forced decision {i} names thread {thread}, which cannot exist")
        self.new_execution()

    def new_execution(self) -> None:
        # Invariant: picks[i] is the i-th question of this execution and its answer; footprints[i], once
        # the step chosen there ran, what that step touched (the runtime appends to it: footprint_log).
        self.picks: list[PickRecord] = []
        self.footprints: list[Footprint] = []

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        i = len(self.picks)
        # `current` may name a thread that cannot continue (a harness may pass it): only a
        # runnable one counts, for the default as for preemptions.
        live = current if current is not None and current in runnable else None
        if i < len(self._prefix):
            choice = self._prefix[i]
            if choice not in runnable:
                raise PolicyError(f"schedule diverged at decision {i}: forced thread {choice} is not runnable "
                                  f"(runnable: {list(runnable)})")
        else:
            choice = default_choice(runnable, live)
        self.picks.append(PickRecord(tuple(runnable), live, choice))
        return choice

    def slice_for(self, thread: int) -> int:
        return STEP_SLICE

    def on_spawn(self, thread: int) -> None:
        pass

    def execution(self) -> tuple[PickRecord, ...]:
        """This execution's decisions so far (the search's input)."""
        return tuple(self.picks)

    # What each chosen step touched, told by the serial driver (runtime/drivers/footprints.py).

    def footprint_log(self) -> list[Footprint]:
        """This execution's list of footprints, one per decision whose step ran, which the runtime appends to
        (and sets the last one to None when a step that was no decision ran: what follows the decision is
        then no longer one step of one thread)."""
        return self.footprints

    def execution_footprints(self) -> tuple[Footprint, ...]:
        """One footprint per decision (None where unknown or not told): the search's sleep sets read them."""
        missing = len(self.picks) - len(self.footprints)
        return tuple(self.footprints[:len(self.picks)]) + (None,) * missing

    def describe(self) -> dict[str, Any]:
        return {"forced": len(self._prefix), "decisions": len(self.picks),
                "preemptions": count_preemptions(self.picks)}
