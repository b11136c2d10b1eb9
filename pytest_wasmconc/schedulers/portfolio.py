"""Portfolio ("portfolio"): each schedule is the random walk's or one of two PCTs', chosen by its seed.

No single policy finds every bug fastest (benchmarks/README.md, "Bug hunt"): the
random walk's mixed quantum scales cut wide windows and lost updates within a
schedule or two; PCT whose steps are the hot (racy) accesses (`pct.py`, the
race-directed set-up of `directed.py`) holds a thread preempted inside a racy
window back until another exploits it, which is what an order violation at
the start of a freshly created thread needs; PCT as in the paper, whose steps
are all decisions, reorders whole critical sections and thread creations,
which bugs without a data race need (an atomicity violation between locked
regions, a check that runs before the threads it checks). Coyote's default
explores with a portfolio for the same reason. Each member gets a third of
the schedules: a bug one member finds quickly is found at most about three
times as late as by that member alone.

The choice is a function of the seed alone, so a schedule still replays from
(name, config), and an exploration's schedule i is what schedule i would be in
any other process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ._common import stream
from .base import NativePlan, Policy, PolicyConfig, SwitchReason
from .pct import Pct
from .random_walk import RandomWalk

__all__ = ["CLASSIC_PCT", "HOT_EXTRA_DEPTH", "HOT_PCT", "MEMBERS", "WALK", "Portfolio", "member_of"]


# The hot PCT's steps are few (the racy accesses: tens where the classic PCT counts thousands of
# decisions), so one more change point among them costs little ordering and gives the one racy
# window more chances to be hit. Measured on check_act_lazy_init's hot program (3 seeds x 40
# schedules per cell, benchmarks/README.md "Bug hunt: race-directed"): depth 4 against 3 found the
# bug in 16 vs 10, 16 vs 10 and 8 vs 6 of 40 at k = half the count, 24 vs 14, 22 vs 19 and 23 vs 22
# at a quarter; never less.
HOT_EXTRA_DEPTH = 1


def _hot_pct(config: PolicyConfig) -> Policy:
    """PCT whose steps are the hot accesses' quantum ends, k the config's scaled down by a power of
    two drawn by the seed, one change point more than the config's depth asks (HOT_EXTRA_DEPTH).

    An explorer sets k from a count of the execution's steps (directed.py), but where in the
    execution the racy window lies is unknown, and PCT's change points fall uniformly within
    the first k steps: a window near the start (a thread's first accesses right after its
    creation) is hit most often under a small k, one near the end only under the whole count.
    So k is the count divided by 2**j, j uniform from 0 to the largest that leaves k >= 1: every
    scale from the whole execution down to its first step, as the random walk mixes its quantum
    scales. Measured (benchmarks/README.md "Bug hunt: race-directed"): on check_act_lazy_init
    with 8 threads (k 10-12) a quarter of the count found the bug in about half the schedules,
    the whole count in a quarter; with 99 threads (k about 145) the exploration's median went
    from 39 schedules (k the count or half of it) to 12; SCTBench's reorder_4/20 took 10 and
    20.5 instead of 18.5 and 37.
    """
    k = config.pct_steps
    if k is not None:
        shift = stream(config.seed, "portfolio.k-scale").randint(0, max(1, k.bit_length() - 1))
        config = replace(config, pct_steps=max(1, k >> shift))
    return Pct(replace(config, depth=config.depth + HOT_EXTRA_DEPTH))


def _classic_pct(config: PolicyConfig) -> Policy:
    """PCT as in the paper: every decision with a choice is a step, quanta of the config's slice."""
    return Pct(replace(config, hot_cost=0, pct_steps=config.pct_choices))


# Each member gets a third of the schedules.
MEMBERS: tuple[Callable[[PolicyConfig], Policy], ...] = (RandomWalk, _hot_pct, _classic_pct)
# Their indices in MEMBERS (an explorer may choose a member by picking seeds, directed.py).
WALK, HOT_PCT, CLASSIC_PCT = 0, 1, 2


def member_of(seed: int) -> int:
    """The index in MEMBERS of the policy schedule `seed` runs (an explorer may pick seeds by it)."""
    return stream(seed, "portfolio.member").randrange(len(MEMBERS))


class Portfolio:
    """Delegates every question to the policy its seed chose (see the module docstring)."""

    name = "portfolio"

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self.member: Policy = MEMBERS[member_of(config.seed)](config)

    def new_execution(self) -> None:
        self.member.new_execution()

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        return self.member.pick(runnable, current, reason)

    def slice_for(self, thread: int) -> int:
        return self.member.slice_for(thread)

    def on_spawn(self, thread: int) -> None:
        self.member.on_spawn(thread)

    def charges_accesses(self, thread: int) -> bool:
        charges = getattr(self.member, "charges_accesses", None)
        return True if charges is None else bool(charges(thread))

    def describe(self) -> dict[str, Any]:
        return {"member": self.member.name, **self.member.describe()}

    # The native step loop runs the random walk's schedules (PCT has no native plan).
    def native_plan(self) -> NativePlan | None:
        plan_of = getattr(self.member, "native_plan", None)
        return plan_of() if plan_of is not None else None

    def native_last(self) -> int | None:
        return self.member.native_last()  # type: ignore[attr-defined, no-any-return]

    def native_sync(self, picks: int, last: int | None) -> None:
        self.member.native_sync(picks, last)  # type: ignore[attr-defined]
