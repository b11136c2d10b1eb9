"""Random walk ("random"): a uniformly random runnable thread at every decision, random slices.

Seeded from `PolicyConfig.seed` only; each execution restarts its streams
from that seed, so one schedule is reproducible from (name, config) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import random_slice, require_positive, stream
from .base import PolicyConfig, SwitchReason

__all__ = ["RandomWalk"]


class RandomWalk:
    """Uniform choice among runnable threads; quantum lengths uniform in [1, 2*slice - 1]."""

    name = "random"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._mean = require_positive(self.name, "slice", config.slice)
        self.new_execution()

    def new_execution(self) -> None:
        # Streams restart from the config's seed instead of advancing across
        # executions: exploration varies the schedule by giving every
        # execution its own config (seed = derive_seed(base, i)), so schedule
        # i never depends on how schedules 0..i-1 went (or on whether they
        # were cut short), and a failing schedule replays from its token.
        # Invariant: both streams are exactly as far along as the questions
        # of this execution so far have moved them.
        self._choice_rng = stream(self.config.seed, "random.choice")
        self._slice_rng = stream(self.config.seed, "slices")
        self._decisions = 0

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        self._decisions += 1
        if len(runnable) == 1:
            # No choice to make: don't consume randomness, so that stretches
            # where only one thread can run do not shift later decisions.
            return runnable[0]
        # Uniform over all runnable threads, the current one included and
        # whatever the reason: a walk that always switched on preemption would
        # never produce two consecutive quanta of one thread, and some races
        # need exactly that.
        return runnable[self._choice_rng.randrange(len(runnable))]

    def slice_for(self, thread: int) -> int:
        # Random, not fixed: a fixed quantum preempts a loop at the same fuel
        # phase on every iteration and in every execution, so a racy window
        # that does not straddle a multiple of the slice is never interrupted.
        # See `random_slice` for the choice of distribution.
        return random_slice(self._slice_rng, self._mean)

    def on_spawn(self, thread: int) -> None:
        # A new thread simply joins the runnable set the runtime passes in.
        pass

    def describe(self) -> dict[str, Any]:
        return {"seed": self.config.seed, "mean_slice": self._mean, "decisions": self._decisions}
