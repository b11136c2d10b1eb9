"""Round robin ("rr"): a fixed queue in thread-id order, one quantum of `slice` fuel each.

Fully deterministic and seed-independent: the baseline every other policy
is measured against, and the easiest schedule to read in a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import require_positive
from .base import NativePlan, PolicyConfig, SwitchReason

__all__ = ["RoundRobin"]


class RoundRobin:
    """Every scheduling point hands the CPU to the next runnable id after the last one."""

    name = "rr"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._slice = require_positive(self.name, "slice", config.slice)
        # Invariant: the thread returned by the most recent `pick` of this
        # execution, or None before the first one. Needed because `current`
        # is None after an exit, yet the queue must go on from the exited
        # thread's place rather than restart at the lowest id.
        self._last: int | None = None

    def new_execution(self) -> None:
        # The only state is the queue position; rr has no randomness to keep.
        self._last = None

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        # `reason` is deliberately ignored: a fixed queue treats every
        # scheduling point (quantum end, yield, block, spawn, exit) as the end
        # of a turn, which is what makes an rr trace predictable by hand.
        position = current if current is not None else self._last
        if position is None:
            # START: the queue begins at its head, the lowest id.
            choice = runnable[0]
        else:
            # The next id after `position`, wrapping to the head. `runnable`
            # is sorted and excludes blocked threads, so blocked ids are
            # skipped, and `position` itself need not be runnable (it may
            # have blocked or exited). If `position` is the only runnable
            # thread the wrap lands on it again, i.e. it continues.
            choice = next((t for t in runnable if t > position), runnable[0])
        self._last = choice
        return choice

    def slice_for(self, thread: int) -> int:
        return self._slice

    def on_spawn(self, thread: int) -> None:
        # New ids join the queue by id order; nothing to register.
        pass

    def describe(self) -> dict[str, Any]:
        return {"slice": self._slice}

    # The native step loop (see NativePlan) runs this same queue.
    def native_plan(self) -> NativePlan:
        return NativePlan("rr", self._slice)

    def native_last(self) -> int | None:
        return self._last

    def native_sync(self, picks: int, last: int | None) -> None:
        self._last = last
