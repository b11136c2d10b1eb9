"""Replay ("replay"): answer with a recorded schedule, and fail loudly where it stops fitting.

`PolicyConfig.decisions` holds the thread chosen at each `pick`, in order;
`PolicyConfig.slices` the fuel of each quantum, in order (see `Recording`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import PolicyConfig, PolicyError, SwitchReason

__all__ = ["Replay"]


class Replay:
    """Return the recorded decisions and slices one by one; PolicyError on divergence."""

    name = "replay"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._decisions = tuple(config.decisions)
        self._slices = tuple(config.slices)
        self._free = frozenset(config.free_accesses)
        # Reject a corrupt recording up front rather than at the quantum that
        # uses it: no policy ever hands out a slice below 1, and no thread id is negative.
        for i, fuel in enumerate(self._slices):
            if fuel < 1:
                raise ValueError(f"replay policy: recorded slice {i} must be >= 1, got {fuel}")
        for i, thread in enumerate(self._decisions):
            if thread < 0:
                raise ValueError(f"replay policy: recorded decision {i} names thread {thread}, which cannot exist")
        self.new_execution()

    def new_execution(self) -> None:
        # Invariants: `_next_decision` is the number of `pick`s answered in this
        # execution and `_next_slice` the number of `slice_for`s; each is the
        # index of the next recorded entry to hand out, <= the recording's length.
        self._next_decision = 0
        self._next_slice = 0

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        i = self._next_decision
        if i >= len(self._decisions):
            # The execution runs longer than the recording: something before
            # this point behaved differently (guest, host, or runtime version).
            raise PolicyError(
                f"schedule diverged at decision {i}: the recorded schedule ends after "
                f"{len(self._decisions)} decisions but the execution needs more "
                f"({reason.value}, runnable: {list(runnable)})"
            )
        thread = self._decisions[i]
        if thread not in runnable:
            # Never substitute another thread: a replay that silently departs
            # from the recording would report a different bug as this one.
            raise PolicyError(
                f"schedule diverged at decision {i}: recorded thread {thread} is not runnable "
                f"(runnable: {list(runnable)})"
            )
        self._next_decision = i + 1
        return thread

    def slice_for(self, thread: int) -> int:
        i = self._next_slice
        if i >= len(self._slices):
            raise PolicyError(
                f"schedule diverged at quantum {i}: the recorded schedule ends after "
                f"{len(self._slices)} quanta but thread {thread} is about to run another"
            )
        self._next_slice = i + 1
        return self._slices[i]

    def charges_accesses(self, thread: int) -> bool:
        """Whether `thread`'s plain accesses charge the counter: as in the recorded execution."""
        return thread not in self._free

    def on_spawn(self, thread: int) -> None:
        # Spawns are implied by the recording; a divergent spawn shows up as a
        # decision naming a thread that is not runnable.
        pass

    def describe(self) -> dict[str, Any]:
        # The policy is never told that an execution ended, so it cannot itself
        # flag a recording that was not used up; the counts let the caller do so.
        return {
            "decisions_used": self._next_decision,
            "decisions_recorded": len(self._decisions),
            "slices_used": self._next_slice,
            "slices_recorded": len(self._slices),
        }
