"""PCT ("pct"): probabilistic concurrency testing with priorities and d-1 change points.

Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010. Every thread gets a
distinct random priority when it is spawned; the highest-priority runnable
thread always runs; at d-1 steps chosen uniformly among the first k, the
thread that just ran drops below every initial priority. A bug of depth d
among n threads within k steps is then found with probability at least
1 / (n * k^(d-1)) per execution.

These choices differ from, or go beyond, the paper:

* A *step* is a scheduling decision with a choice (more than one runnable
  thread), as in Shuttle and Coyote, not an instruction: decisions where only
  one thread can run need no change point (paper, 4.1 "Identifying Sequential
  Execution"), and counting them would dilute k with single-threaded prefixes.
* When the program charges hot (racy) accesses (`PolicyConfig.hot_cost`, the
  race-directed exploration of `directed.py`), a step is only a quantum end
  with a choice, and quanta average the hot charge: nearly every quantum then
  ends right before a hot access, so the steps are the racy accesses, as in
  Thomson et al. (TOPC 2016), where PCT found nearly every bug of its
  benchmark with racy accesses as its visible operations. Decisions at
  synchronization (an atomic, a spawn, a wait) still follow the priorities
  but are no steps: in a program built on libc they are mostly the library's
  own (malloc's lock, thread creation), and counting them diluted k so much
  that a change point almost never fell inside a racy window.
* k is fixed per config, not adapted inside the policy object. Shuttle grows
  k to the longest execution this scheduler object has seen, which makes
  schedule i depend on schedules 0..i-1; here a schedule must replay from its
  config alone. k is `PolicyConfig.pct_steps` (default `DEFAULT_STEPS`); the
  policy reports its step counts in `describe()` so that an explorer can
  measure k before exploring and store it in each schedule's config.
* After step k the policy picks uniformly at random (a "fair" tail, as in
  Coyote's fair-PCT). All change points lie in the first k steps, so strict
  priorities there add no bug-finding power, and a high-priority thread
  spin-waiting on a lower-priority one would otherwise spin until the
  runtime's step bound and be reported as a hang that cannot happen.

Slices are random like `random` (uniform in [1, 2*slice - 1]), not fixed:
a change point can only take effect at a quantum boundary, and with a fixed
slice the boundaries fall at the same fuel offsets of a loop in every
execution, so a racy window that no boundary straddles would be out of PCT's
reach whatever the priorities. Random slices make every fuel offset a
possible step boundary, which is the granularity the paper's bound assumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._common import random_slice, require_positive, stream
from .base import NativePlan, PolicyConfig, SwitchReason

__all__ = ["DEFAULT_STEPS", "Pct", "PctConfig"]

# k when the config does not say: a guess at the number of contended
# scheduling decisions in one execution of a small test (quanta of 10_000
# fuel: about 10M instructions of contended execution). Too small a k puts
# change points too early; too large dilutes them (probability ~ 1/k each).
DEFAULT_STEPS = 1000


@dataclass(frozen=True)
class PctConfig(PolicyConfig):
    """A PolicyConfig (kept for callers from before `pct_steps` moved into PolicyConfig itself)."""


class Pct:
    """Highest-priority runnable thread first; d-1 random priority drops within k steps."""

    name = "pct"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self.depth = require_positive(self.name, "depth", config.depth)
        self._mean_slice = require_positive(self.name, "slice", config.hot_cost or config.slice)
        # With hot accesses, steps are the quantum ends (where the hot accesses are); without, every
        # decision with a choice, as in the paper (module docstring).
        self._visible_steps = config.hot_cost > 0
        steps = config.pct_steps if config.pct_steps is not None else DEFAULT_STEPS
        self.steps_estimate = require_positive(self.name, "pct_steps", steps)
        # The largest step count of any execution of this object: reported
        # for an explorer to size k, never used to choose (see module doc).
        self.max_steps_seen = 0
        self.new_execution()

    def new_execution(self) -> None:
        seed = self.config.seed
        # Every stream restarts from the config's seed (not advancing across
        # executions) so that one execution is a function of its config; the
        # explorer varies executions by varying the seed. Separate streams so
        # that, e.g., the number of slices asked never moves the priorities.
        self._priority_rng = stream(seed, "pct.priorities")
        self._tail_rng = stream(seed, "pct.tail")
        self._slice_rng = stream(seed, "slices")
        change_rng = stream(seed, "pct.change-points")

        # d-1 distinct steps, uniform among 1..k. They are kept in draw order:
        # the j-th drawn point lowers to priority j, so which of two lowered
        # threads ranks higher is itself random, as in the paper. Distinct
        # (the paper draws with replacement) so that no change point is lost
        # to a collision. Fewer than d-1 when k < d-1: every step changes.
        count = min(self.depth - 1, self.steps_estimate)
        points = change_rng.sample(range(1, self.steps_estimate + 1), count)
        # Invariant: maps each change step to its index j in 1..d-1; the j
        # are distinct, and all are below every initial priority (>= d).
        self._change_points: dict[int, int] = {step: j for j, step in enumerate(points, start=1)}

        # Invariant: every thread this execution knows of is in exactly one of
        # `_ranked` (initial priority) and `_lowered` (hit a change point).
        # `_ranked` lists threads from lowest to highest priority; thread
        # `_ranked[i]` has priority d + i, so initial priorities are distinct
        # and all >= d. `_lowered` maps a thread to its j (< d); the values
        # are distinct because each change step is reached at most once.
        # Hence all priorities are distinct and the highest runnable one is
        # unique: no tie-breaking rule can leak into the schedule.
        self._ranked: list[int] = []
        # Invariant: `_position[t]` is t's index in `_ranked`, for every t in it (a lookup per
        # priority comparison: with a thousand threads, `list.index` made each decision quadratic).
        self._position: dict[int, int] = {}
        self._lowered: dict[int, int] = {}
        # Invariant: the number of decisions with a choice made so far in
        # this execution (the paper's step counter).
        self._steps = 0
        self._choices = 0
        # Invariant: the thread returned by the most recent `pick` of this
        # execution (None before the first), i.e. the thread that ran the
        # last quantum. Needed because `current` may be None for a thread
        # that blocked or exited (the runtime passes None whenever the last
        # thread cannot continue), yet the change point must hit that thread.
        self._last: int | None = None
        # (step, lowered thread, new priority j) for each change point reached:
        # the change points this execution actually reached, for reports.
        self._changes: list[tuple[int, int, int]] = []

    def on_spawn(self, thread: int) -> None:
        self._register(thread)

    def _register(self, thread: int) -> None:
        """Give a thread not seen before a random initial priority."""
        if thread in self._lowered or thread in self._position:
            # Idempotent, so that the runtime may announce the initial thread
            # or not: `pick` registers any thread it has not heard of.
            return
        # Inserting each newcomer at a uniformly random position among the
        # len+1 gaps yields a uniformly random order of all threads, however
        # many are spawned later: the paper's "random distinct priorities"
        # without knowing n in advance.
        at = self._priority_rng.randrange(len(self._ranked) + 1)
        self._ranked.insert(at, thread)
        self._renumber(at)

    def _renumber(self, start: int) -> None:
        """Restore `_position` for `_ranked[start:]` after an insertion or removal at `start`."""
        for i in range(start, len(self._ranked)):
            self._position[self._ranked[i]] = i

    def _priority(self, thread: int) -> int:
        lowered = self._lowered.get(thread)
        if lowered is not None:
            return lowered
        return self.depth + self._position[thread]

    def priorities(self) -> dict[int, int]:
        """Each known thread's current priority (higher runs first)."""
        known = [*self._ranked, *self._lowered]
        return {t: self._priority(t) for t in sorted(known)}

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        for thread in runnable:
            # Threads are normally registered by `on_spawn`; registering here in
            # id order covers a runtime that never announces the initial thread.
            self._register(thread)

        if len(runnable) == 1:
            # No choice, so not a step: see the module docstring.
            self._last = runnable[0]
            return runnable[0]
        self._choices += 1
        if self._visible_steps and reason is not SwitchReason.PREEMPTED:
            # A synchronization decision: not a step (module docstring), no change point.
            choice = self._choose(runnable)
            self._last = choice
            return choice

        self._steps += 1
        self.max_steps_seen = max(self.max_steps_seen, self._steps)

        j = self._change_points.get(self._steps)
        ran = current if current is not None else self._last
        if j is not None and ran is not None:
            # The thread that executed the step loses its priority before the
            # choice, so the choice below is where the preemption happens. If
            # it blocked, the drop outlasts the wait, as in the paper; if it
            # exited, the change point is spent without effect, as in the paper.
            at = self._position.pop(ran, None)
            if at is not None:
                del self._ranked[at]
                self._renumber(at)
            self._lowered[ran] = j
            self._changes.append((self._steps, ran, j))

        choice = self._choose(runnable)
        self._last = choice
        return choice

    def _choose(self, runnable: Sequence[int]) -> int:
        if self._steps > self.steps_estimate:
            # Fair tail (module docstring): past k, strict priorities can only
            # starve a thread that another is spinning on.
            return runnable[self._tail_rng.randrange(len(runnable))]
        # The paper's rule, including on PREEMPTED/YIELDED: the current
        # thread keeps running while it has the highest priority; a
        # quantum end is a preemption only at a change point.
        return max(runnable, key=self._priority)

    def slice_for(self, thread: int) -> int:
        return random_slice(self._slice_rng, self._mean_slice)

    # The native step loop (steps.c, pct_pick) makes the decisions between change points itself, from
    # this object's priorities and streams; it keeps _steps, _choices, _last and max_steps_seen while it
    # runs and writes them back before this object decides (a change point, a thread not yet ranked).
    def native_plan(self) -> NativePlan:
        return NativePlan("pct", self._mean_slice, self._tail_rng.getrandbits, self._slice_rng.getrandbits, pct=self)

    def native_last(self) -> int | None:
        return None

    def native_sync(self, picks: int, last: int | None) -> None:
        pass  # the loop wrote the counters back itself

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "depth": self.depth,
            "steps_estimate": self.steps_estimate,
            "mean_slice": self._mean_slice,
            "change_points": sorted(self._change_points),
            "changes": [list(change) for change in self._changes],
            "steps": self._steps,
            "choices": self._choices,
            "max_steps_seen": self.max_steps_seen,
            "priorities": {str(t): p for t, p in self.priorities().items()},
        }
