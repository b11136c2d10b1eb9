"""Random walk ("random"): a uniformly random runnable thread at every decision, random slices.

Seeded from `PolicyConfig.seed` only; each execution restarts its streams
from that seed, so one schedule is reproducible from (name, config) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import random_slice, require_positive, stream
from .base import NativePlan, PolicyConfig, SwitchReason

__all__ = ["RandomWalk"]


# Each execution draws its own mean quantum: slice / 2**k with k uniform in
# [0, SCALE_STEPS]. A race window a few hundred instructions wide is almost
# never cut by quanta averaging 10,000 fuel, yet short quanta everywhere would
# make long guests slow; a spread of preemption frequencies across schedules
# (Coyote's portfolio idea, in one policy) finds both kinds of bug.
SCALE_STEPS = 7
ACCESS_FREE_ONE_IN = 4


class RandomWalk:
    """Uniform choice among runnable threads; quantum lengths uniform in [1, 2*scale - 1].

    `scale` is drawn once per execution between slice/128 and slice.
    """

    name = "random"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._mean = require_positive(self.name, "slice", config.slice)
        self._untouched = False
        self.new_execution()

    def new_execution(self) -> None:
        if self._untouched:
            return  # the streams are where a restart would put them (seeding costs more than a schedule's picks)
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
        # Invariant: 1 <= scale <= slice; fixed for the whole execution.
        self._scale = max(1, self._mean >> self._slice_rng.randrange(SCALE_STEPS + 1))
        # Invariant: the threads of this execution whose plain accesses are free (see charges_accesses).
        self._free: dict[int, bool] = {}
        # Invariant: True only while no answer has been drawn since the restart.
        self._untouched = True

    def charges_accesses(self, thread: int) -> bool:
        """Whether `thread`'s visible plain accesses charge the counter (the shared level).

        One thread in ACCESS_FREE_ONE_IN runs with its plain accesses free: its quanta span
        long memory-heavy stretches (a thread creating the others, libc's set-up) that
        preempting at every access would almost never let finish, while the others are still
        preempted right before their accesses: a creator that makes every worker before the
        first one leaves its racy window is such a schedule. Drawn per (execution, thread) from
        a stream of its own: asking moves no other answer, and a thread's answer is the same
        whenever it is asked.
        """
        free = self._free.get(thread)
        if free is None:
            draw = stream(self.config.seed, f"random.accesses.{thread}").randrange(ACCESS_FREE_ONE_IN)
            free = self._free[thread] = draw == 0
        return not free

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        self._untouched = False
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
        self._untouched = False
        return random_slice(self._slice_rng, self._scale)

    def on_spawn(self, thread: int) -> None:
        # A new thread simply joins the runnable set the runtime passes in.
        pass

    def describe(self) -> dict[str, Any]:
        return {"seed": self.config.seed, "mean_slice": self._scale, "decisions": self._decisions,
                "accesses_free": sorted(t for t, free in self._free.items() if free)}

    # The native step loop (see NativePlan) draws from these same streams.
    def native_plan(self) -> NativePlan:
        self._untouched = False  # the native loop draws from the streams directly
        return NativePlan("random", self._scale, self._choice_rng.getrandbits, self._slice_rng.getrandbits)

    def native_last(self) -> int | None:
        return None

    def native_sync(self, picks: int, last: int | None) -> None:
        self._decisions += picks
