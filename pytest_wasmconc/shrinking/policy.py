"""The shrinker's candidate schedules: a recorded schedule played leniently, then no preemption.

A candidate is a list of quanta, (thread, fuel), in the order they run: the
first `len(entries)` decisions of the execution take them one by one. Unlike
the replay policy, a candidate never fails: an entry whose thread cannot run
there runs the thread that costs no preemption instead (a candidate is a guess
whose result is what counts). Past the list no thread is preempted: the thread
that may continue does (a quantum of the original's mean length at a time),
and when none may, the lowest runnable id runs, as in the dfs policy. A
thread that keeps the CPU for `FAIR_PICKS` decisions in a row while others
wait hands it to the next id: a spin loop waiting for another thread would
otherwise spin until the step budget declares a hang.

Every decision is kept with what the driver asked (`picks`): the search counts
preemptions from them and prints the context switches. `pause_at` ends the
execution before that decision (`Pause`), every thread where it stands: a
probe for where each switch happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..schedulers.base import Pause, SwitchReason
from ..schedulers.dfs import default_choice

__all__ = ["FAIR_PICKS", "CandidatePolicy", "Entry", "Pick"]

FAIR_PICKS = 64


@dataclass(frozen=True)
class Entry:
    """One quantum of a schedule: the thread chosen at a decision and the fuel it was granted."""

    thread: int
    fuel: int


@dataclass(frozen=True)
class Pick:
    """One decision as it happened: who could run, who ran last and may continue (or None), why the
    driver asked, who was chosen."""

    runnable: tuple[int, ...]
    current: int | None
    reason: SwitchReason
    chosen: int

    @property
    def preempts(self) -> bool:
        """Choosing `chosen` switches away from a thread that could have gone on."""
        return self.current is not None and self.chosen != self.current


class CandidatePolicy:
    """Play `entries` (leniently), then continue without preempting; keep every decision."""

    name = "shrink-candidate"  # never in a token: the shrinker replays its result under "replay"

    def __init__(self, entries: Sequence[Entry], *, fuel: int, free_accesses: Sequence[int] = (),
                 pause_at: int | None = None) -> None:
        self.entries = tuple(entries)
        self.fuel = fuel  # the quantum past the entries
        self.free = frozenset(free_accesses)
        self.pause_at = pause_at
        self.new_execution()

    def new_execution(self) -> None:
        # Invariants: picks[i] is the i-th decision of this execution, slices[i] the fuel of the
        # quantum it started; `_held` counts the decisions in a row that kept the last thread.
        self.picks: list[Pick] = []
        self.slices: list[int] = []
        self._held = 0

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        i = len(self.picks)
        if self.pause_at is not None and i >= self.pause_at:
            raise Pause(f"before decision {i}")
        live = current if current is not None and current in runnable else None
        if i < len(self.entries) and self.entries[i].thread in runnable:
            choice = self.entries[i].thread
        elif i < len(self.entries) or live is None or self._held < FAIR_PICKS:
            choice = default_choice(runnable, live)
        else:
            choice = next((t for t in runnable if t > live), runnable[0])  # fairness: the next id's turn
        self._held = self._held + 1 if live is not None and choice == live else 0
        self.picks.append(Pick(tuple(runnable), live, reason, choice))
        return choice

    def slice_for(self, thread: int) -> int:
        i = len(self.slices)
        fuel = self.entries[i].fuel if i < len(self.entries) else self.fuel
        self.slices.append(fuel)
        return fuel

    def charges_accesses(self, thread: int) -> bool:
        return thread not in self.free

    def on_spawn(self, thread: int) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"entries": len(self.entries), "decisions": len(self.picks),
                "preemptions": sum(1 for p in self.picks if p.preempts)}
