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

__all__ = ["CLASSIC_PCT", "HOT_PCT", "MEMBERS", "WALK", "Portfolio", "member_of"]


def _hot_pct(config: PolicyConfig) -> Policy:
    """PCT whose steps are the hot accesses' quantum ends, k the config's or half of it, by the seed.

    An explorer sets k from a count of the execution's steps (directed.py), but where in the
    execution the racy window lies is unknown: a change point falls on a window near the start
    (a thread's first accesses right after its creation) twice as often under the smaller k, and
    on one near the end only under the larger. Measured on check_act_lazy_init's hot program
    (5 seeds x 40 schedules): the larger k found the bug in 24% of the schedules, the smaller in
    48%, twice the larger 12%. Halving k per schedule hedges between the two scales, as the random
    walk's mixed quantum scales do.
    """
    k = config.pct_steps
    if k is not None and stream(config.seed, "portfolio.k-scale").random() < 0.5:
        config = replace(config, pct_steps=max(1, k // 2))
    return Pct(config)


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
