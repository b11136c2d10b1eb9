"""Random walk ("random"): a random runnable thread at every decision, random slices.

Each execution draws how often fuel preempts (the quantum scale) and how often a
yield point switches (the stickiness); the thread chosen is otherwise uniform.

Seeded from `PolicyConfig.seed` only; each execution restarts its streams
from that seed, so one schedule is reproducible from (name, config) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import random_slice, require_positive, stream
from .base import NativePlan, PolicyConfig, SwitchReason

__all__ = ["STAY_WEIGHTS", "RandomWalk"]


# Each execution draws its own mean quantum: slice / 2**k with k uniform in
# [0, SCALE_STEPS]. A race window a few hundred instructions wide is almost
# never cut by quanta averaging 10,000 fuel, yet short quanta everywhere would
# make long guests slow; a spread of preemption frequencies across schedules
# (Coyote's portfolio idea, in one policy) finds both kinds of bug.
SCALE_STEPS = 7
ACCESS_FREE_ONE_IN = 4
# At a yield point (an atomic operation, a notify, a host call: `SwitchReason.YIELDED`) each
# execution keeps the current thread running with odds drawn once from these weights: 0 is the
# plain uniform choice, w > 0 keeps it w times in w + 1 and otherwise chooses uniformly. Not at
# sched_yield (`GAVE_UP`): a thread that gives up the processor asks for another to run, and a
# spin loop around it kept running made a 200-thread spin barrier 3-7x slower. The
# quantum scale spreads how often fuel preempts, but a uniform choice at every yield point
# switches with odds (n-1)/n: a thread almost never runs a dozen atomic operations in a row (its
# start-up, a short job, its exit's notify) without another cutting in, which a bug such as a
# creator's late store after the created thread already finished needs. Uniform choices cut
# between two atomic operations more often, which lock-order and order bugs need: hence a mix.
# Measured, one schedule per seed (benchmarks/README.md "Bug hunt: yield-point stickiness"):
# zig/zig_join_race's lost wake-up in 15 of 40 schedules with weight 0, 33 with 3, 37 with 15;
# races/order_flags 16, 8 and 6 of 60; c/lock_order 5, 3 and 1 of 60.
STAY_WEIGHTS = (0, 3, 15)


class RandomWalk:
    """Uniform choice among runnable threads, but for the current one kept at yield points with the
    execution's odds (STAY_WEIGHTS); quantum lengths uniform in [1, 2*scale - 1].

    `scale` is drawn once per execution between slice/128 and slice, the stickiness among STAY_WEIGHTS.
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
        # Invariant: fixed for the whole execution (see STAY_WEIGHTS).
        self._stay = STAY_WEIGHTS[stream(self.config.seed, "random.stay").randrange(len(STAY_WEIGHTS))]
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
        # At a yield point the execution's stickiness first (STAY_WEIGHTS); the native
        # step loop (steps.c, pick) draws the same numbers in the same order.
        if self._stay and reason is SwitchReason.YIELDED and current is not None and current in runnable:
            if self._choice_rng.randrange(self._stay + 1):
                return current
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
        return {"seed": self.config.seed, "mean_slice": self._scale, "stay": self._stay, "decisions": self._decisions,
                "accesses_free": sorted(t for t, free in self._free.items() if free)}

    # The native step loop (see NativePlan) draws from these same streams.
    def native_plan(self) -> NativePlan:
        self._untouched = False  # the native loop draws from the streams directly
        return NativePlan("random", self._scale, self._choice_rng.getrandbits, self._slice_rng.getrandbits,
                          stay=self._stay)

    def native_last(self) -> int | None:
        return None

    def native_sync(self, picks: int, last: int | None) -> None:
        self._decisions += picks
